namespace ChatPlatform.ServiceDefaults.WebSockets;

/// <summary>
/// A connection's allowance of frames: a token bucket of <c>burst</c> frames that refills at <c>perSecond</c>,
/// computed from the clock when a frame arrives. System.Threading.RateLimiting's token bucket refills with a timer
/// of its own instead, so 10,000 idle sockets cost 10,000 timer callbacks a second and a timer each in memory.
/// Not thread-safe: a connection's one receive loop is its only caller.
/// </summary>
public sealed class FrameBudget(int burst, int perSecond, TimeProvider clock)
{
    private double _frames = burst;
    private long _refilledAt = clock.GetTimestamp();

    public bool TryTake()
    {
        var now = clock.GetTimestamp();
        // From the raw timestamps: TimeSpan would round each interval down to 100 ns, and frames a microsecond apart
        // would each lose part of their refill.
        _frames = Math.Min(burst, _frames + ((now - _refilledAt) * (double)perSecond / clock.TimestampFrequency));
        _refilledAt = now;
        if (_frames < 1)
        {
            return false;
        }

        _frames--;
        return true;
    }
}
