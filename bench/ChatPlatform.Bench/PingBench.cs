using System.Diagnostics;
using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>
/// The floor under every relay figure: one WebSocket round trip client → gateway → relay → gateway → client.
/// Open loop: each ping is timed from when it was scheduled, so a stall shows up instead of being skipped.
/// </summary>
internal static class PingBench
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        var token = await BenchSocket.TokenAsync(options.Gateway, "bench", ["bench"]);
        var sockets = new List<BenchSocket>();
        for (var i = 0; i < options.Clients; i++)
        {
            var socket = await BenchSocket.ConnectAsync(options.Gateway, "/ws/relay", token);
            await socket.ReceiveAsync("welcome");
            sockets.Add(socket);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ping: {options.Clients} sockets through {options.Gateway}, {options.Rate} pings/s for {options.Seconds} s"));
        var latency = new Latency();
        var clock = Stopwatch.StartNew();
        var total = options.Rate * options.Seconds;
        var perSocket = sockets.Select(_ => new Queue<double>()).ToArray();
        var readers = sockets.Select((socket, index) => ReadPongsAsync(socket, perSocket[index], clock, latency)).ToArray();
        var ping = BenchSocket.Utf8("""{"type":"ping"}""");
        for (var sent = 0; sent < total; sent++)
        {
            var scheduled = sent * 1000.0 / options.Rate;
            var wait = scheduled - clock.Elapsed.TotalMilliseconds;
            if (wait > 1)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait));
            }

            var index = sent % sockets.Count;
            lock (perSocket[index])
            {
                perSocket[index].Enqueue(scheduled);
            }

            await sockets[index].SendAsync(ping);
        }

        var deadline = clock.Elapsed + TimeSpan.FromSeconds(5);
        while (latency.Count < total && clock.Elapsed < deadline)
        {
            await Task.Delay(50);
        }

        foreach (var socket in sockets)
        {
            await socket.DisposeAsync();
        }

        await Task.WhenAll(readers);
        Console.WriteLine($"round trip: {latency.Summary()}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lost: {total - latency.Count}"));
        return latency.Count == total ? 0 : 1;
    }

    private static async Task ReadPongsAsync(BenchSocket socket, Queue<double> pending, Stopwatch clock, Latency latency)
    {
        while (await socket.ReceiveAsync() is { } frame)
        {
            if (frame.GetProperty("type").GetString() == "pong")
            {
                double scheduled;
                lock (pending)
                {
                    scheduled = pending.Dequeue();
                }

                latency.Add(clock.Elapsed.TotalMilliseconds - scheduled);
            }
        }
    }
}
