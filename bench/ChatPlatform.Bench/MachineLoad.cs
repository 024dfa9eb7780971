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
        try
        {
            var pressure = File.Exists(CpuPressure) ? File.ReadAllText(CpuPressure) : null;
            return Parse(File.ReadAllText(CpuTimes), pressure, Stopwatch.GetTimestamp());
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads the first <c>cpu</c> line of <paramref name="cpuTimes"/> (user nice system idle iowait irq softirq steal
    /// …) and counts the <c>cpuN</c> lines; busy is everything but idle and iowait. Null if there is no such line.
    /// </summary>
    public static MachineCounters? Parse(string cpuTimes, string? cpuPressure, long timestamp)
    {
        var lines = cpuTimes.Split('\n');
        var total = lines.FirstOrDefault(line => line.StartsWith("cpu ", StringComparison.Ordinal));
        if (total is null)
        {
            return null;
        }

        var ticks = total.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(field => long.Parse(field, CultureInfo.InvariantCulture)).ToArray();
        if (ticks.Length < 5)
        {
            return null;
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

/// <summary>
/// How loaded the machine was between two readings: CPUs busy on average (of <see cref="Cpus"/>), and the share of the
/// wall time during which a runnable thread waited for a CPU (null without pressure stall information).
/// </summary>
internal readonly record struct MachineLoad(double BusyCpus, int Cpus, double? WaitingShare)
{
    public static MachineLoad? Between(MachineCounters? before, MachineCounters? after)
    {
        if (before is null || after is null || after.TotalTicks <= before.TotalTicks)
        {
            return null;
        }

        var busyShare = (double)(after.BusyTicks - before.BusyTicks) / (after.TotalTicks - before.TotalTicks);
        var elapsedMicroseconds = Stopwatch.GetElapsedTime(before.Timestamp, after.Timestamp).TotalMicroseconds;
        double? waiting = before.WaitingMicroseconds is { } from && after.WaitingMicroseconds is { } to && elapsedMicroseconds > 0
            ? Math.Clamp((to - from) / elapsedMicroseconds, 0, 1)
            : null;
        return new MachineLoad(busyShare * after.Cpus, after.Cpus, waiting);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{BusyCpus:F2} of {Cpus} CPUs busy ({BusyCpus / Cpus:P0}); {(WaitingShare is { } waiting ? $"a thread waited for a CPU {waiting:P0} of the time (/proc/pressure/cpu)" : "no pressure stall information")}");
}
