using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>
/// The durable path end to end: send → relay → broker → store → every subscriber of the room, the sender included.
/// Open loop: each message has a scheduled time and every delivery is timed from it on one monotonic clock, so a stall
/// anywhere (the bench's own sends included) shows up as latency instead of a slower rate.
/// </summary>
internal sealed class RelayBench(
    BenchOptions options, IReadOnlyList<RelayBenchClient> clients, Stopwatch clock, ConcurrentDictionary<Guid, SentMessage> sent, ErrorCounts lateErrors)
{
    public const double P99LimitMilliseconds = 50;
    private const int MaxRates = 12;
    private const double StepFactor = 1.5;

    /// <summary>How long the drain waits without a single new delivery before it calls the rest lost.</summary>
    private static readonly TimeSpan DrainPatience = TimeSpan.FromSeconds(10);

    /// <summary>Setup concurrency: enough to overlap round trips, few enough not to storm the gateway's per-IP limits.</summary>
    private static readonly ParallelOptions Setup = new() { MaxDegreeOfParallelism = 16 };

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var run = Hex();
        var clock = Stopwatch.StartNew();
        var sent = new ConcurrentDictionary<Guid, SentMessage>();
        var lateErrors = new ErrorCounts();
        var clients = new RelayBenchClient[options.Clients];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"relay: {options.Clients} users (one socket each) through {options.Gateway}, {options.Rooms} rooms of {MembersText(options)}"));
        if (options.Clients > 30)
        {
            // The dev issuer allows a burst of ~30 tokens per IP, then ~5/s; each user needs its own token.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tokens: {options.Clients} users at the gateway's token rate take about {(options.Clients - 30) / 5 + 1} s"));
        }

        int exitCode;
        try
        {
            using var http = new HttpClient { BaseAddress = options.Gateway };
            await Parallel.ForEachAsync(Enumerable.Range(0, options.Clients), Setup, async (index, _) =>
                clients[index] = await RelayBenchClient.ConnectAsync(options.Gateway, http, $"bench-{run}-{index}", clock, sent, lateErrors));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"connected: {options.Clients} sockets in {clock.Elapsed.TotalSeconds:F1} s"));
            var bench = new RelayBench(options, clients, clock, sent, lateErrors);
            var warmedUpClean = await bench.WarmUpAsync();
            var measured = options.FindMax ? await bench.FindMaxAsync() : await bench.RunOnceAsync();
            exitCode = warmedUpClean ? measured : 1;
        }
        finally
        {
            await Task.WhenAll(clients.OfType<RelayBenchClient>().Select(client => client.DisposeAsync().AsTask()));
        }

        // After the readers stopped: the answers to the last step's leave come in after its report, too.
        if (lateErrors.ByCode() is { Count: > 0 } late)
        {
            Console.WriteLine($"late errors:  {RelayReport.ErrorsText(late)} (arrived after their step was reported: in no figure above)");
        }

        return exitCode;
    }

    /// <summary>
    /// Sends at the first rate for the warm-up seconds in rooms of their own and reports one line: the bench's code,
    /// and the servers' code for a step's new rooms, is compiled by the time the counted seconds start. Its latency is
    /// not counted; a loss or a duplicate still fails the run (false).
    /// </summary>
    private async Task<bool> WarmUpAsync()
    {
        if (options.WarmupSeconds == 0)
        {
            return true;
        }

        var warmup = await RunStepAsync(options.Rate, options.WarmupSeconds);
        var clean = warmup.Lost == 0 && warmup.Duplicated == 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"warm-up:      {options.WarmupSeconds} s at {options.Rate} msg/s in rooms of its own, latency not counted (p99 {warmup.P99:F2} ms, {warmup.Lost} lost, {warmup.Duplicated} duplicated, errors: {RelayReport.ErrorsText(warmup.Errors)}{(clean ? "" : ": the run fails")})"));
        return clean;
    }

    private async Task<int> RunOnceAsync()
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sending: {options.Rate} msg/s in all ({(double)options.Rate / clients.Count:0.##} per client) for {options.Seconds} s"));
        var result = await RunStepAsync(options.Rate, options.Seconds);
        RelayReport.PrintStep(result);
        if (options.Plot is { } plot)
        {
            RelayReport.PlotStep(plot, result, options);
            Console.WriteLine($"plot:         {plot}");
        }

        return result.Lost == 0 && result.Duplicated == 0 ? 0 : 1;
    }

    private async Task<int> FindMaxAsync()
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"find-max: steps of {options.Seconds} s from {options.Rate} msg/s, ×{StepFactor} each, until p99 > {P99LimitMilliseconds} ms (twice in a row at one rate), a loss or a duplicate"));
        RelayReport.PrintTableHeader();
        // One result per rate, the one that decided it: where a step ran twice, its second.
        var decided = new List<RelayStepResult>();
        var rate = options.Rate;
        while (decided.Count < MaxRates)
        {
            var result = await RunStepAsync(rate, options.Seconds);
            RelayReport.PrintTableRow(result);
            if (!result.Sustained && result.Lost == 0 && result.Duplicated == 0)
            {
                // One stall of a few hundred milliseconds anywhere on the machine decides a step's p99 at low rates,
                // so a latency miss is tried once more before it counts. A loss or a duplicate is never retried.
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"",8}  p99 over {P99LimitMilliseconds} ms: {rate} msg/s once more"));
                result = await RunStepAsync(rate, options.Seconds);
                RelayReport.PrintTableRow(result);
            }

            decided.Add(result);
            if (!result.Sustained || rate >= BenchOptions.MaxRate)
            {
                break;
            }

            rate = NextRate(rate);
        }

        var best = decided.TakeWhile(result => result.Sustained).LastOrDefault();
        var reachedTheEnd = decided.All(result => result.Sustained);
        Console.WriteLine(best is null
            ? string.Create(CultureInfo.InvariantCulture, $"no rate sustained: already {options.Rate} msg/s missed the mark (see the rows above)")
            : !reachedTheEnd
                ? string.Create(CultureInfo.InvariantCulture, $"highest sustained rate: {best.Rate} msg/s (p99 {best.P99:F2} ms)")
                // Not a limit found: the search stopped before any step failed, so the highest rate is above this one.
                : best.Rate >= BenchOptions.MaxRate
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"highest sustained rate: at least {best.Rate} msg/s (p99 {best.P99:F2} ms), the bench's ceiling")
                    : string.Create(CultureInfo.InvariantCulture,
                        $"highest sustained rate: at least {best.Rate} msg/s (p99 {best.P99:F2} ms); all {decided.Count} steps passed, so start higher: --rate {NextRate(best.Rate)}"));
        if (options.Plot is { } plot)
        {
            RelayReport.PlotSteps(plot, decided, options);
            Console.WriteLine($"plot: {plot}");
        }

        return best is null ? 1 : 0;
    }

    private static int NextRate(int rate) => (int)Math.Min(BenchOptions.MaxRate, Math.Round(rate * StepFactor));

    /// <summary>One step: fresh rooms, everyone subscribed, open-loop sending for <paramref name="seconds"/>, then the drain.</summary>
    private async Task<RelayStepResult> RunStepAsync(int rate, int seconds)
    {
        var roomIds = Enumerable.Range(0, options.Rooms).Select(index => $"bench-{Hex()}-{index}").ToArray();
        var members = new int[roomIds.Length];
        for (var index = 0; index < clients.Count; index++)
        {
            members[index % roomIds.Length]++;
        }

        var step = new RelayStep(rate, seconds, roomIds, members, lateErrors);
        await Parallel.ForEachAsync(Enumerable.Range(0, clients.Count), Setup, async (index, _) =>
            await clients[index].SubscribeAsync(roomIds[index % roomIds.Length], step));

        var machineBefore = MachineCounters.Read();
        step.StartMilliseconds = clock.Elapsed.TotalMilliseconds;
        // A loop per client: one slow socket delays its own messages (and shows as their latency), not everyone's.
        await Task.WhenAll(clients.Select((_, index) => Task.Run(() => SendAsync(step, index))));
        // While sending only: the drain's quiet tail would water the load down.
        var machine = MachineLoad.Between(machineBefore, MachineCounters.Read());
        await DrainAsync(step);

        var result = step.Result() with { Machine = machine };
        await Task.WhenAll(clients.Select(client => client.LeaveAsync(step)));

        // The ids of a reported step are not needed again; at high rates they are most of the bench's memory.
        foreach (var id in sent.Where(entry => entry.Value.Step == step).Select(entry => entry.Key).ToList())
        {
            sent.TryRemove(id, out _);
        }

        return result;
    }

    /// <summary>
    /// The messages of one client: the k-th message of the step (at start + k/rate) belongs to client k mod N, so the
    /// whole is evenly spread and each client sends rate/N per second. Behind schedule, it sends at once to catch up.
    /// </summary>
    private async Task SendAsync(RelayStep step, int clientIndex)
    {
        var client = clients[clientIndex];
        var roomIndex = clientIndex % step.RoomIds.Count;
        var interval = 1000.0 / step.Rate;
        for (long message = clientIndex; message < step.Total; message += clients.Count)
        {
            var scheduled = step.StartMilliseconds + (message * interval);
            var wait = scheduled - clock.Elapsed.TotalMilliseconds;
            if (wait > 1)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait));
            }

            await client.SendMessageAsync(step, step.RoomIds[roomIndex], step.Members[roomIndex], scheduled);
        }
    }

    /// <summary>Waits until every expected delivery arrived, or until deliveries stop arriving for a while.</summary>
    private async Task DrainAsync(RelayStep step)
    {
        var received = step.Received;
        var lastProgress = clock.Elapsed;
        while (received < step.Expected && clock.Elapsed - lastProgress < DrainPatience)
        {
            await Task.Delay(20);
            if (step.Received != received)
            {
                received = step.Received;
                lastProgress = clock.Elapsed;
            }
        }
    }

    private static string Hex() => Guid.NewGuid().ToString("N")[..8];

    private static string MembersText(BenchOptions options)
    {
        var fewest = options.Clients / options.Rooms;
        var most = fewest + (options.Clients % options.Rooms == 0 ? 0 : 1);
        return fewest == most
            ? fewest.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{fewest}-{most}");
    }
}
