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
        // Past 2^30 the cap has long been reached; stop doubling before the arithmetic overflows.
        var factor = Math.Pow(2, Math.Min(attempt - 1, 30));
        var delay = first.TotalMilliseconds * factor;
        return delay >= cap.TotalMilliseconds ? cap : TimeSpan.FromMilliseconds(delay);
    }
}
