using System.Diagnostics;

namespace ChatPlatform.Bench.Tests;

public class MachineLoadTests
{
    // The first lines of a real /proc/stat of a 2-CPU machine (user nice system idle iowait irq softirq steal guest guest_nice).
    private const string CpuTimes = """
        cpu  563082 2355 189821 808479 5192 0 39396 260 1500 30
        cpu0 281000 1200 95000 404000 2600 0 19700 130 750 15
        cpu1 282082 1155 94821 404479 2592 0 19696 130 750 15
        intr 123456 0 0
        ctxt 987654
        """;

    private const string CpuPressure = """
        some avg10=24.37 avg60=47.26 avg300=49.81 total=3361822995
        full avg10=0.00 avg60=0.00 avg300=0.00 total=0
        """;

    [Fact]
    public void Busy_time_is_everything_but_idle_and_iowait_and_leaves_out_guest_time_which_user_time_holds()
    {
        var counters = MachineCounters.Parse(CpuTimes, CpuPressure, timestamp: 0).ShouldNotBeNull();

        counters.BusyTicks.ShouldBe(563082 + 2355 + 189821 + 39396 + 260);
        counters.TotalTicks.ShouldBe(563082 + 2355 + 189821 + 808479 + 5192 + 39396 + 260);
        counters.Cpus.ShouldBe(2);
        counters.WaitingMicroseconds.ShouldBe(3361822995);
    }

    [Fact]
    public void Without_pressure_stall_information_only_the_waiting_share_is_missing()
    {
        var before = MachineCounters.Parse("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 0\n", cpuPressure: null, timestamp: 0);
        var after = MachineCounters.Parse("cpu  400 0 200 900 0 0 0 0 0 0\ncpu0 0\n", cpuPressure: null, timestamp: Stopwatch.Frequency);

        var load = MachineLoad.Between(before, after).ShouldNotBeNull();

        load.BusyCpus.ShouldBe(0.8, tolerance: 1e-9);
        load.Cpus.ShouldBe(1);
        load.WaitingShare.ShouldBeNull();
        load.ToString().ShouldContain("no pressure stall information");
    }

    [Fact]
    public void The_load_between_two_readings_is_the_busy_share_of_the_ticks_and_the_waiting_share_of_the_wall_time()
    {
        // One second apart: 150 of 200 ticks busy on 2 CPUs, and 400 ms of it with a thread waiting for a CPU.
        var before = MachineCounters.Parse(
            "cpu  1000 0 0 1000 0 0 0 0 0 0\ncpu0 0\ncpu1 0\n", "some avg10=0 avg60=0 avg300=0 total=5000000\n", timestamp: 0);
        var after = MachineCounters.Parse(
            "cpu  1150 0 0 1050 0 0 0 0 0 0\ncpu0 0\ncpu1 0\n", "some avg10=0 avg60=0 avg300=0 total=5400000\n", timestamp: Stopwatch.Frequency);

        var load = MachineLoad.Between(before, after).ShouldNotBeNull();

        load.BusyCpus.ShouldBe(1.5, tolerance: 1e-9);
        load.Cpus.ShouldBe(2);
        load.WaitingShare.ShouldNotBeNull().ShouldBe(0.4, tolerance: 1e-9);
        load.ToString().ShouldBe("1.50 of 2 CPUs busy (75 %); a thread waited for a CPU 40 % of the time (/proc/pressure/cpu)");
    }

    [Theory]
    [InlineData("")]
    [InlineData("intr 1 2 3\nctxt 4\n")]
    [InlineData("cpu  1 2 3\n")]
    [InlineData("cpu  1 2 x 4 5 6 7 8\n")]
    [InlineData("cpu  1 2 3 99999999999999999999 5 6 7 8\n")]
    public void Text_without_a_whole_readable_cpu_line_gives_no_counters(string cpuTimes) =>
        MachineCounters.Parse(cpuTimes, CpuPressure, timestamp: 0).ShouldBeNull();

    [Fact]
    public void No_time_between_the_readings_gives_no_load()
    {
        var reading = MachineCounters.Parse(CpuTimes, CpuPressure, timestamp: 0);

        MachineLoad.Between(reading, reading).ShouldBeNull();
        MachineLoad.Between(null, reading).ShouldBeNull();
    }
}
