using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace ChatPlatform.Bench;

/// <summary>
/// What idle connections cost one process. N authenticated sockets go to it: straight to one Relay or Signaling
/// instance, or to the gateway, which proxies each to an instance and so holds two sockets per client. Each is
/// welcomed, then subscribed to (or joined to) a quiet room of its own, then held with nothing sent. The process is
/// read before, with the sockets welcomed, subscribed and held, and after they closed, each time after a forced full
/// collection and a settle period: the managed heap is then what is live, and the resident memory has had time to give
/// back what the collection freed.
/// </summary>
internal static class IdleBench
{
    /// <summary>Sockets opening at once: enough to overlap handshakes, well inside Kestrel's listen backlog of 512.</summary>
    private const int Concurrency = 200;

    /// <summary>The brief's target per idle connection (≤ 30 KB, after Centrifugo's ~30 KB), read as KiB.</summary>
    private const double TargetKibibytes = 30;

    /// <summary>File descriptors a process needs besides its sockets (assemblies, logs, the broker, epoll…).</summary>
    private const int OtherFileDescriptors = 200;

    /// <summary>GC memory beyond the heap, before the run, above which the RSS deltas are said to understate.</summary>
    private const double ReusedWarningMebibytes = 64;

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    private sealed record Phase(string Name, MemoryReading Reading, int Connections);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var target = options.IdleTarget;
        var processId = options.ProcessId ?? ServiceProcess.FindListening(target.Port);
        using var measured = new ServiceProcess(processId, target);
        PrintHeader(options, processId);
        var token = await BenchSocket.TokenAsync(options.Gateway, "idle", ["*"]);
        var phases = new List<Phase> { new("before", await SettledReadingAsync(measured), 0) };
        Print(phases);

        var failures = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        var opened = new IdleConnection?[options.Connections];
        await EachAsync(opened.Length, async index => opened[index] = await IdleConnection.OpenAsync(target, options.IdleService, token), failures);
        var connections = opened.OfType<IdleConnection>().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"opened:     {connections.Count} of {options.Connections} in {clock.Elapsed.TotalSeconds:F1} s, {options.Connections - connections.Count} failed{Reasons(failures)}"));
        if (connections.Count == 0)
        {
            return 1;
        }

        try
        {
            phases.Add(new("welcomed", await SettledReadingAsync(measured), connections.Count(connection => connection.IsOpen)));
            Print(phases);

            var run = Guid.NewGuid().ToString("N")[..8];
            var subscribeFailures = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
            clock.Restart();
            // One subscribe first, alone. A relay's first history request starts MassTransit's response endpoint; before
            // Relay__HistoryConcurrency, 200 at once on a fresh relay starved it (800 blocked threads, broker heartbeats
            // missed). This bench measures memory, so it keeps that start out of the figures.
            Task SubscribeAsync(int index) => connections[index].JoinAsync($"idle-{run}-{index}");
            await EachAsync(1, SubscribeAsync, subscribeFailures);
            await EachAsync(connections.Count - 1, index => SubscribeAsync(index + 1), subscribeFailures);
            var subscribeFailed = subscribeFailures.Values.Sum();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"subscribed: {connections.Count - subscribeFailed} of {connections.Count}, each to a quiet room of its own ({options.IdleService.JoinType}), in {clock.Elapsed.TotalSeconds:F1} s, {subscribeFailed} failed{Reasons(subscribeFailures)}"));
            phases.Add(new("subscribed", await SettledReadingAsync(measured), connections.Count(connection => connection.IsOpen)));
            Print(phases);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"holding:    {options.HoldSeconds} s with nothing sent (only the WebSocket pings of the service, which ClientWebSocket answers)"));
            await Task.Delay(TimeSpan.FromSeconds(options.HoldSeconds));
            phases.Add(new("held", await SettledReadingAsync(measured), connections.Count(connection => connection.IsOpen)));
            Print(phases);

            var drops = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
            foreach (var reason in connections.Select(connection => connection.DropReason).OfType<string>())
            {
                drops.AddOrUpdate(reason, 1, (_, count) => count + 1);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dropped:    {drops.Values.Sum()} of {connections.Count} since opening{Reasons(drops)}"));
            var closeFailures = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
            await EachAsync(connections.Count, async index => await connections[index].DisposeAsync(), closeFailures);
            connections.Clear();
            if (!closeFailures.IsEmpty)
            {
                Console.WriteLine($"closing:    {closeFailures.Values.Sum()} failed{Reasons(closeFailures)}");
            }

            phases.Add(new("closed", await SettledReadingAsync(measured), 0));
            Print(phases);

            PrintSummary(phases, options);
            return failures.IsEmpty && subscribeFailures.IsEmpty && drops.IsEmpty && closeFailures.IsEmpty ? 0 : 1;
        }
        finally
        {
            await Task.WhenAll(connections.Select(connection => connection.DisposeAsync().AsTask()));
        }
    }

    private static void PrintHeader(BenchOptions options, int processId)
    {
        var serviceLimit = ServiceProcess.OpenFileLimit(processId.ToString(CultureInfo.InvariantCulture));
        var benchLimit = ServiceProcess.OpenFileLimit("self");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"idle: {options.Connections} {options.IdleService.Name} sockets to {options.IdleTarget} (pid {processId}), {Concurrency} opening at a time; open-file limits: that process {serviceLimit}, bench {benchLimit}"));
        // The gateway holds two sockets per client: the client's and its own to an instance.
        var perConnection = IsGateway(options) ? 2 : 1;
        foreach (var (name, limit, sockets) in new[] { ("the measured process", serviceLimit, perConnection), ("the bench", benchLimit, 1) })
        {
            if (limit < (options.Connections * sockets) + OtherFileDescriptors)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"warning: {name} may open at most {limit} files: clients beyond about {(limit - OtherFileDescriptors) / sockets} will be refused (raise ulimit -n)"));
            }
        }
    }

    /// <summary>
    /// Forces a full collection, waits for the process to settle and reads it. If no collection could be forced (or
    /// none happened), the heap figure is that of the last one the process made on its own, and the line says so.
    /// </summary>
    private static async Task<MemoryReading> SettledReadingAsync(ServiceProcess measured)
    {
        var before = await measured.ReadAsync();
        string? notForced = null;
        try
        {
            await InducedCollection.CollectAsync(measured.ProcessId);
        }
        catch (Exception exception) when (exception is InvalidOperationException or TimeoutException or SocketException or IOException)
        {
            notForced = exception.Message;
        }

        await Task.Delay(Settle);
        var reading = await measured.ReadAsync();
        if (notForced is not null || reading.FullCollections == before.FullCollections)
        {
            Console.WriteLine($"warning: no full collection was forced ({notForced ?? "the gen2 count did not move"}); the heap is as of the process's last own collection");
        }

        return reading;
    }

    /// <summary>Runs an action for 0..count-1, <see cref="Concurrency"/> at a time, counting failures by reason instead of stopping.</summary>
    private static Task EachAsync(int count, Func<int, Task> action, ConcurrentDictionary<string, int> failures) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (index, _) =>
        {
            try
            {
                await action(index);
            }
            catch (Exception exception) when (exception is WebSocketException or HttpRequestException or SocketException or IOException or TimeoutException or InvalidOperationException)
            {
                failures.AddOrUpdate(exception.GetBaseException().Message, 1, (_, failed) => failed + 1);
            }
        });

    private static string Reasons(ConcurrentDictionary<string, int> reasons) =>
        reasons.IsEmpty ? "" : " (" + string.Join("; ", reasons.OrderByDescending(reason => reason.Value).Select(reason =>
            string.Create(CultureInfo.InvariantCulture, $"{reason.Value}× {reason.Key}"))) + ")";

    private static void Print(List<Phase> phases)
    {
        var phase = phases[^1];
        var reading = phase.Reading;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{phase.Name + ":",-11} RSS {Mebibytes(reading.ResidentBytes):F1} MiB, managed heap {Mebibytes(reading.HeapBytes):F1} MiB (GC committed {Mebibytes(reading.CommittedBytes):F1} MiB, Kestrel pool {Mebibytes(reading.PooledBytes):F1} MiB), chat_connections {reading.Connections}");
        if (phase.Connections > 0)
        {
            line += string.Create(CultureInfo.InvariantCulture,
                $"; per connection: RSS {PerConnection(phases[0], phase, reading => reading.ResidentBytes):F1} KiB, heap {PerConnection(phases[0], phase, reading => reading.HeapBytes):F1} KiB");
        }

        Console.WriteLine(line);
    }

    private static void PrintSummary(List<Phase> phases, BenchOptions options)
    {
        Console.WriteLine();
        Console.WriteLine($"{"per connection, against before",-34} {"RSS",10} {"managed heap",13} {"GC committed",13}");
        foreach (var phase in phases.Where(phase => phase.Connections > 0))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{phase.Name + $" ({phase.Connections} open)",-34} {PerConnection(phases[0], phase, reading => reading.ResidentBytes),6:F1} KiB {PerConnection(phases[0], phase, reading => reading.HeapBytes),9:F1} KiB {PerConnection(phases[0], phase, reading => reading.CommittedBytes),9:F1} KiB"));
        }

        var held = phases.Single(phase => phase.Name == "held");
        var resident = PerConnection(phases[0], held, reading => reading.ResidentBytes);
        var heap = PerConnection(phases[0], held, reading => reading.HeapBytes);
        // The larger of the two: on a process that committed memory under earlier load the RSS delta understates, and
        // the heap never counts native memory.
        Console.WriteLine(options.IdleService == IdleService.Relay && !IsGateway(options)
            ? string.Create(CultureInfo.InvariantCulture,
                $"target ≤ {TargetKibibytes} KB per idle connection: {(Math.Max(resident, heap) <= TargetKibibytes ? "met" : "missed")} (after holding {options.HoldSeconds} s: {resident:F1} KiB of RSS, {heap:F1} KiB of managed heap per connection)")
            : string.Create(CultureInfo.InvariantCulture,
                $"after holding {options.HoldSeconds} s: {resident:F1} KiB of RSS, {heap:F1} KiB of managed heap per connection (the brief's ≤ {TargetKibibytes} KB target is for a Relay instance)"));

        var before = phases[0].Reading;
        var reused = Mebibytes(before.CommittedBytes) - Mebibytes(before.HeapBytes);
        if (reused > ReusedWarningMebibytes)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"note: before the run the process's GC already held {reused:F0} MiB more than its heap (earlier load), which the sockets reused: the RSS figures understate; restart it for them"));
        }

        var closed = phases[^1].Reading;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"left after closing: {Mebibytes(closed.HeapBytes) - Mebibytes(before.HeapBytes):F1} MiB of managed heap ({((closed.HeapBytes ?? double.NaN) - (before.HeapBytes ?? double.NaN)) / held.Connections:F0} bytes per connection that was open)"));
    }

    private static bool IsGateway(BenchOptions options) => options.IdleTarget.Port == options.Gateway.Port;

    private static double PerConnection(Phase before, Phase phase, Func<MemoryReading, double?> bytes) =>
        phase.Connections == 0 ? double.NaN : ((bytes(phase.Reading) ?? double.NaN) - (bytes(before.Reading) ?? double.NaN)) / phase.Connections / 1024;

    private static double Mebibytes(double? bytes) => (bytes ?? double.NaN) / (1024 * 1024);
}
