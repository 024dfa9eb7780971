namespace ChatPlatform.Bench.Tests;

public class BenchOptionsTests
{
    [Fact]
    public void A_relay_run_warms_up_for_five_seconds_unless_told()
    {
        BenchOptions.Parse(["relay", "--clients", "50", "--rooms", "10"]).WarmupSeconds.ShouldBe(5);
        BenchOptions.Parse(["relay", "--clients", "50", "--rooms", "10", "--warmup", "0"]).WarmupSeconds.ShouldBe(0);
        BenchOptions.Parse(["relay", "--warmup", "60"]).WarmupSeconds.ShouldBe(60);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("61")]
    public void A_warm_up_outside_zero_to_sixty_seconds_is_refused(string seconds) =>
        Should.Throw<ArgumentException>(() => BenchOptions.Parse(["relay", "--warmup", seconds]))
            .Message.ShouldBe("--warmup must be 0-60");

    [Theory]
    [InlineData("idle")]
    [InlineData("ping")]
    [InlineData("signaling")]
    public void Only_the_relay_mode_takes_a_warm_up(string mode) =>
        Should.Throw<ArgumentException>(() => BenchOptions.Parse([mode, "--warmup", "3"]))
            .Message.ShouldContain("--warmup belong to the relay mode");
}
