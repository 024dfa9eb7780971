namespace ChatPlatform.Bench.Tests;

public class RelayStepTests
{
    private static RelayStep NewStep(ErrorCounts lateErrors) => new(rate: 100, seconds: 1, roomIds: ["room"], members: [2], lateErrors);

    [Fact]
    public void Errors_of_a_step_are_in_its_result_and_none_is_late()
    {
        var lateErrors = new ErrorCounts();
        var step = NewStep(lateErrors);

        step.RecordError("unavailable");
        step.RecordError("unavailable");
        step.RecordError("rate-limited");

        step.Result().Errors.ShouldBe([new("rate-limited", 1L), new("unavailable", 2L)]);
        lateErrors.ByCode().ShouldBeEmpty();
    }

    [Fact]
    public void An_error_after_the_step_was_reported_is_a_late_error_of_the_run_not_a_change_to_the_printed_result()
    {
        var lateErrors = new ErrorCounts();
        var step = NewStep(lateErrors);
        step.RecordError("unavailable");
        var reported = step.Result();

        step.RecordError("unavailable");

        reported.Errors.ShouldBe([new("unavailable", 1L)]);
        step.Result().Errors.ShouldBe([new("unavailable", 1L)], "the step's own count stays what was printed");
        lateErrors.ByCode().ShouldBe([new("unavailable", 1L)]);
    }

    [Fact]
    public void An_error_counts_against_the_step_of_the_message_it_answers_or_of_the_frame_or_late()
    {
        var lateErrors = new ErrorCounts();
        var (earlier, current) = (NewStep(lateErrors), NewStep(lateErrors));
        var sent = new System.Collections.Concurrent.ConcurrentDictionary<Guid, SentMessage>();
        var inFlight = Guid.CreateVersion7();
        sent[inFlight] = new SentMessage(earlier, ScheduledMilliseconds: 0, Sender: "bench-1", SenderOrdinal: 1);

        RelayBenchClient.RecordError("unavailable", inFlight.ToString(), sent, current, lateErrors);
        RelayBenchClient.RecordError("invalid", "subscribe", sent, current, lateErrors);
        RelayBenchClient.RecordError("rate-limited", Guid.CreateVersion7().ToString(), sent, current, lateErrors);

        earlier.Result().Errors.ShouldBe([new("unavailable", 1L)], "the send's own step, though another runs now");
        current.Result().Errors.ShouldBe([new("invalid", 1L)], "a frame without a message id: the step the client is in");
        lateErrors.ByCode().ShouldBe([new("rate-limited", 1L)], "a message id no longer held: its step was reported");
    }
}
