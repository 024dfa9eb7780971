using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.Extensions.Time.Testing;

namespace ChatPlatform.ServiceDefaults.Tests;

public class FrameBudgetTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void A_burst_is_allowed_at_once_and_the_next_frame_is_refused()
    {
        var budget = new FrameBudget(burst: 5, perSecond: 2, _clock);

        // Drain takes until the first refusal: five taken means the sixth frame was refused.
        Drain(budget).ShouldBe(5);
    }

    [Fact]
    public void Frames_come_back_at_the_rate_as_time_passes()
    {
        var budget = new FrameBudget(burst: 5, perSecond: 2, _clock);
        Drain(budget);

        _clock.Advance(TimeSpan.FromMilliseconds(499));
        budget.TryTake().ShouldBeFalse();
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        budget.TryTake().ShouldBeTrue();
        budget.TryTake().ShouldBeFalse();

        _clock.Advance(TimeSpan.FromSeconds(1));
        budget.TryTake().ShouldBeTrue();
        budget.TryTake().ShouldBeTrue();
        budget.TryTake().ShouldBeFalse();
    }

    [Fact]
    public void A_long_silence_refills_no_more_than_the_burst()
    {
        var budget = new FrameBudget(burst: 5, perSecond: 2, _clock);
        Drain(budget);

        _clock.Advance(TimeSpan.FromHours(1));

        Drain(budget).ShouldBe(5);
    }

    [Fact]
    public void Refused_frames_do_not_use_up_what_comes_back()
    {
        var budget = new FrameBudget(burst: 1, perSecond: 10, _clock);
        Drain(budget);

        for (var i = 0; i < 9; i++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(10));
            budget.TryTake().ShouldBeFalse();
        }

        // 110 ms in all: one frame's worth, whatever the rounding of the steps.
        _clock.Advance(TimeSpan.FromMilliseconds(20));
        budget.TryTake().ShouldBeTrue();
    }

    private static int Drain(FrameBudget budget)
    {
        var taken = 0;
        while (budget.TryTake())
        {
            taken++;
        }

        return taken;
    }
}
