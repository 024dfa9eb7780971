using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Messages;
using Fault = ChatPlatform.Delivery.Messages.ErrorQueueObserver.Fault;

namespace ChatPlatform.Delivery.Tests;

public class ErrorQueueObserverTests
{
    private static CancellationToken Stopping() => new(canceled: true);

    [Fact]
    public void A_store_that_failed_after_its_retries_counts_as_moved_to_the_error_queue()
    {
        ErrorQueueObserver.Classify(typeof(MessagesSubmitted), new TimeoutException("database away"), CancellationToken.None)
            .ShouldBe(Fault.ErrorQueue);
    }

    [Fact]
    public void A_consume_cancelled_by_the_endpoint_stopping_goes_back_to_its_queue_and_is_not_counted()
    {
        ErrorQueueObserver.Classify(typeof(MessagesSubmitted), new TaskCanceledException(), Stopping())
            .ShouldBe(Fault.CancelledByStop);
        ErrorQueueObserver.Classify(null, new AggregateException(new OperationCanceledException()), Stopping())
            .ShouldBe(Fault.CancelledByStop);
    }

    [Fact]
    public void A_cancellation_while_the_endpoint_runs_is_a_fault_like_any_other()
    {
        // Only the endpoint's stop cancels the consume's token; a timeout inside the consumer is a real failure.
        ErrorQueueObserver.Classify(typeof(MessagesSubmitted), new TaskCanceledException(), CancellationToken.None)
            .ShouldBe(Fault.ErrorQueue);
    }

    [Fact]
    public void Another_failure_while_stopping_still_counts()
    {
        ErrorQueueObserver.Classify(typeof(CursorsAdvanced), new InvalidOperationException("a bug"), Stopping())
            .ShouldBe(Fault.ErrorQueue);
    }

    [Fact]
    public void A_failed_history_request_is_a_read_answered_with_its_fault_not_a_poison_message()
    {
        ErrorQueueObserver.Classify(typeof(HistoryRequested), new TimeoutException("database away"), CancellationToken.None)
            .ShouldBe(Fault.HistoryRead);
    }
}
