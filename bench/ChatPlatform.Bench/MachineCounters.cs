using System.Diagnostics;
using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>
/// Linux's own counters at one moment: CPU time busy and in all (<c>/proc/stat</c>, in clock ticks) and the time
/// during which at least one runnable thread waited for a CPU (<c>/proc/pressure/cpu</c>, "some", in microseconds).
/// The bench shares the machine with every part of the stack, so a step's tail latency can be waiting for a core
/// rather than work of any one service; two readings around a step tell which.
/// </summary>
internal sealed record MachineCounters(long BusyTicks, long TotalTicks, int Cpus, long? WaitingMicroseconds, long Timestamp)
{
    private const string CpuTimes = "/proc/stat";
    private const string CpuPressure = "/proc/pressure/cpu";

    /// <summary>The counters now, or null where <c>/proc/stat</c> cannot be read (not Linux).</summary>
    public static MachineCounters? Read()
    {
        var cpuTimes = ReadOrNull(CpuTimes);
        return cpuTimes is null ? null : Parse(cpuTimes, ReadOrNull(CpuPressure), Stopwatch.GetTimestamp());
    }

    /// <summary>A counter file's text, or null where it is missing or closed to us (some containers hide PSI).</summary>
    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads the first <c>cpu</c> line of <paramref name="cpuTimes"/> (user nice system idle iowait irq softirq steal
    /// …) and counts the <c>cpuN</c> lines; busy is everything but idle and iowait. Null if there is no such line or
    /// a field is not a number.
    /// </summary>
    public static MachineCounters? Parse(string cpuTimes, string? cpuPressure, long timestamp)
    {
        var lines = cpuTimes.Split('\n');
        var total = lines.FirstOrDefault(line => line.StartsWith("cpu ", StringComparison.Ordinal));
        if (total is null)
        {
            return null;
        }

        // Eight fields: guest and guest_nice, the two after steal, are already counted in user and nice. Steal (time
        // the hypervisor gave another guest) counts as busy: this machine's work could not run then either.
        var fields = total.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).ToArray();
        if (fields.Length < 5)
        {
            return null;
        }

        var ticks = new long[fields.Length];
        for (var index = 0; index < fields.Length; index++)
        {
            if (!long.TryParse(fields[index], NumberStyles.None, CultureInfo.InvariantCulture, out ticks[index]))
            {
                return null;
            }
        }

        var idle = ticks[3] + ticks[4];
        var all = ticks.Sum();
        var cpus = lines.Count(line => line.StartsWith("cpu", StringComparison.Ordinal) && line.Length > 3 && char.IsAsciiDigit(line[3]));
        return new MachineCounters(all - idle, all, Math.Max(1, cpus), SomeTotal(cpuPressure), timestamp);
    }

    /// <summary>The <c>total=</c> of the "some" line: microseconds, since boot, with a runnable thread waiting.</summary>
    private static long? SomeTotal(string? cpuPressure)
    {
        var some = cpuPressure?.Split('\n').FirstOrDefault(line => line.StartsWith("some ", StringComparison.Ordinal));
        var total = some?.Split(' ').FirstOrDefault(field => field.StartsWith("total=", StringComparison.Ordinal));
        return total is not null && long.TryParse(total.AsSpan("total=".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds)
            ? microseconds
            : null;
    }
}
