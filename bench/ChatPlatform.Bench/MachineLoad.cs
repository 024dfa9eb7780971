using System.Diagnostics;
using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>
/// How loaded the machine was between two readings: CPUs busy on average (of <see cref="Cpus"/>), and about the share
/// of the wall time during which a runnable thread waited for a CPU (null without pressure stall information; on
/// several CPUs the kernel weighs each CPU's stall time by how busy it was, so this is close to, not exactly, that
/// share).
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
