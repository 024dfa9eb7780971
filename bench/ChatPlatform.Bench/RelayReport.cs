using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>How the relay bench prints its steps and draws them.</summary>
internal static class RelayReport
{
    public static void PrintStep(RelayStepResult result)
    {
        Line("messages:", $"{result.Sent} sent of {result.Scheduled} scheduled, {result.Accepted} accepted, errors: {ErrorsText(result.Errors)}");
        Line("deliveries:", $"{result.Expected} expected, {result.Received} received, {result.Lost} lost, {result.Duplicated} duplicated, {result.OutOfOrder} out of order, {result.OutOfSendOrder} out of their sender's order");
        Line("rates:", $"{result.SendRate:F1} msg/s sent, {result.DeliveryRate:F1} deliveries/s received");
        Line("end to end:", $"{result.EndToEndSummary}");
        Line("accepted:", $"p50 {result.AcceptedP50:F2} ms  p99 {result.AcceptedP99:F2} ms  (scheduled → accepted)");
        Line("send lag:", $"p50 {result.SendLagP50:F2} ms  p99 {result.SendLagP99:F2} ms  (scheduled → the bench writes; its own timer, part of both above)");
        if (result.Machine is { } machine)
        {
            Line("machine:", $"{machine} while sending, the bench included");
        }
    }

    public static void PrintTableHeader() =>
        Console.WriteLine($"{"rate",8} {"sent/s",9} {"delivered/s",11} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"max ms",9} {"lost",7} {"duplicated",10} {"out of order",12} {"send order",10} {"lag p99",8} {"CPUs",5} {"waiting",7}  errors");

    public static void PrintTableRow(RelayStepResult result) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Rate,8} {result.SendRate,9:F1} {result.DeliveryRate,11:F1} {result.P50,8:F2} {result.P95,8:F2} {result.P99,8:F2} {result.Max,9:F2} {result.Lost,7} {result.Duplicated,10} {result.OutOfOrder,12} {result.OutOfSendOrder,10} {result.SendLagP99,8:F2} {Busy(result),5} {Waiting(result),7}  {ErrorsText(result.Errors)}"));

    public static void PlotStep(string path, RelayStepResult result, BenchOptions options)
    {
        var seconds = Enumerable.Range(1, result.PerSecondP50.Count).Select(second => (double)second).ToList();
        LatencyPlot.Write(
            path,
            string.Create(CultureInfo.InvariantCulture,
                $"relay: {options.Clients} clients in {options.Rooms} rooms, {result.Rate} msg/s, scheduled → delivered latency"),
            "second of the run (by scheduled send time)",
            seconds,
            [
                new LatencyPlot.Line("p50", "#1f77b4", result.PerSecondP50),
                new LatencyPlot.Line("p99", "#ff7f0e", result.PerSecondP99),
                new LatencyPlot.Line("max", "#7f7f7f", result.PerSecondMax),
            ],
            RelayBench.P99LimitMilliseconds);
    }

    public static void PlotSteps(string path, IReadOnlyList<RelayStepResult> results, BenchOptions options)
    {
        LatencyPlot.Write(
            path,
            string.Create(CultureInfo.InvariantCulture,
                $"relay find-max: {options.Clients} clients in {options.Rooms} rooms, {options.Seconds} s per step, scheduled → delivered latency"),
            "offered rate (msg/s)",
            results.Select(result => (double)result.Rate).ToList(),
            [
                new LatencyPlot.Line("p50", "#1f77b4", results.Select(result => result.P50).ToList()),
                new LatencyPlot.Line("p99", "#ff7f0e", results.Select(result => result.P99).ToList()),
            ],
            RelayBench.P99LimitMilliseconds);
    }

    private static string Busy(RelayStepResult result) =>
        result.Machine is { } machine ? machine.BusyCpus.ToString("F2", CultureInfo.InvariantCulture) : "-";

    private static string Waiting(RelayStepResult result) =>
        result.Machine?.WaitingShare is { } waiting ? waiting.ToString("P0", CultureInfo.InvariantCulture) : "-";

    private static void Line(string label, FormattableString text) =>
        Console.WriteLine($"{label,-13} {text.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>Error counts as "code count, code count", or "none".</summary>
    public static string ErrorsText(IReadOnlyList<KeyValuePair<string, long>> errors) =>
        errors.Count == 0
            ? "none"
            : string.Join(", ", errors.Select(error => string.Create(CultureInfo.InvariantCulture, $"{error.Key} {error.Value}")));
}
