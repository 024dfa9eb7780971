using ChatPlatform.ServiceDefaults.Resilience;

namespace ChatPlatform.ServiceDefaults.Tests;

public class BackoffTests
{
    private static readonly TimeSpan First = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 16)]
    [InlineData(6, 30)]
    [InlineData(7, 30)]
    [InlineData(20, 30)]
    public void The_delay_starts_at_the_first_doubles_per_attempt_and_stops_at_the_cap(int attempt, int seconds) =>
        Backoff.Exponential(attempt, First, Cap).ShouldBe(TimeSpan.FromSeconds(seconds));

    [Fact]
    public void The_whole_schedule_is_1_2_4_8_16_then_the_cap()
    {
        var schedule = Enumerable.Range(1, 8).Select(attempt => Backoff.Exponential(attempt, First, Cap).TotalSeconds);

        schedule.ShouldBe([1.0, 2, 4, 8, 16, 30, 30, 30]);
    }

    [Theory]
    [InlineData(30)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(64)]
    [InlineData(1_000_000)]
    [InlineData(int.MaxValue)]
    public void Huge_attempt_numbers_stay_at_the_cap(int attempt) =>
        Backoff.Exponential(attempt, First, Cap).ShouldBe(Cap);

    [Fact]
    public void Huge_attempt_numbers_stay_at_the_cap_even_with_the_largest_cap() =>
        Backoff.Exponential(int.MaxValue, TimeSpan.FromDays(1), TimeSpan.MaxValue).ShouldBe(TimeSpan.MaxValue);

    [Fact]
    public void Huge_attempt_numbers_reach_the_cap_even_when_it_is_more_than_2_pow_30_first_delays_away() =>
        // 1 ms doubled 30 times is about 12.4 days; the delay should keep doubling until it reaches the cap.
        Backoff.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(365)).ShouldBe(TimeSpan.FromDays(365));

    [Fact]
    public void A_delay_exactly_at_the_cap_is_the_cap() =>
        Backoff.Exponential(3, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8)).ShouldBe(TimeSpan.FromSeconds(8));

    [Fact]
    public void A_cap_below_the_first_delay_wins_from_the_first_attempt() =>
        Backoff.Exponential(1, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2)).ShouldBe(TimeSpan.FromSeconds(2));

    [Fact]
    public void Sub_millisecond_delays_double_without_rounding()
    {
        var first = TimeSpan.FromMicroseconds(250);

        Backoff.Exponential(1, first, Cap).ShouldBe(first);
        Backoff.Exponential(2, first, Cap).ShouldBe(TimeSpan.FromMicroseconds(500));
        Backoff.Exponential(3, first, Cap).ShouldBe(TimeSpan.FromMilliseconds(1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void An_attempt_below_1_throws(int attempt) =>
        Should.Throw<ArgumentOutOfRangeException>(() => Backoff.Exponential(attempt, First, Cap))
            .ParamName.ShouldBe("attempt");
}
