namespace ChatPlatform.ServiceDefaults.Resilience;

/// <summary>The one backoff schedule: the first delay, doubled per attempt, capped.</summary>
public static class Backoff
{
    /// <param name="attempt">1 for the first retry.</param>
    /// <param name="first">The delay before the first retry.</param>
    /// <param name="cap">The longest delay.</param>
    public static TimeSpan Exponential(int attempt, TimeSpan first, TimeSpan cap)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        // 2^1023 is the largest finite power of two a double holds: beyond it any cap has been passed, and the
        // factor stays finite (so a zero first delay stays zero instead of becoming NaN).
        var factor = Math.Pow(2, Math.Min(attempt - 1, 1023));
        var delay = first.TotalMilliseconds * factor;
        return delay >= cap.TotalMilliseconds ? cap : TimeSpan.FromMilliseconds(delay);
    }
}
