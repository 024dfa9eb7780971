using System.Diagnostics;
using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>
/// Signaling latency: how long a join takes to answer (it includes the presence bookkeeping), and how long an
/// offer takes to reach the peer (across instances when --direct names two). Open loop, like every bench here.
/// </summary>
internal static class SignalingBench
{
    private const string Sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

    private sealed record Pair(BenchSocket Caller, BenchSocket Callee, string CalleeId, string RoomId, Queue<double> Pending);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var servers = options.Direct.Count > 0 ? options.Direct : [options.Gateway];
        var token = await BenchSocket.TokenAsync(options.Gateway, "bench", ["*"]);
        var join = new Latency();
        var clock = Stopwatch.StartNew();
        var pairs = new List<Pair>();
        for (var i = 0; i < options.Clients; i++)
        {
            var room = $"bench-{run}-{i}";
            var caller = await ConnectAsync(servers[0], token);
            var callee = await ConnectAsync(servers[1 % servers.Count], token);
            var calleeId = (await callee.ReceiveAsync("welcome")).GetProperty("clientId").GetString()!;
            await caller.ReceiveAsync("welcome");
            await JoinAsync(caller, room, join, clock);
            await JoinAsync(callee, room, join, clock);
            await caller.ReceiveAsync("peer-joined");
            pairs.Add(new Pair(caller, callee, calleeId, room, new Queue<double>()));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"signaling: {pairs.Count} pairs on {string.Join(" + ", servers)}, {options.Rate} offers/s for {options.Seconds} s"));
        Console.WriteLine($"join → joined: {join.Summary()}");

        var relay = new Latency();
        var readers = pairs.Select(pair => ReadOffersAsync(pair, clock, relay)).ToArray();
        var total = options.Rate * options.Seconds;
        var start = clock.Elapsed.TotalMilliseconds;
        for (var sent = 0; sent < total; sent++)
        {
            var scheduled = start + (sent * 1000.0 / options.Rate);
            var wait = scheduled - clock.Elapsed.TotalMilliseconds;
            if (wait > 1)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait));
            }

            var pair = pairs[sent % pairs.Count];
            lock (pair.Pending)
            {
                pair.Pending.Enqueue(scheduled);
            }

            await pair.Caller.SendAsync(new { type = "offer", to = pair.CalleeId, roomId = pair.RoomId, sdp = Sdp });
        }

        var deadline = clock.Elapsed + TimeSpan.FromSeconds(5);
        while (relay.Count < total && clock.Elapsed < deadline)
        {
            await Task.Delay(50);
        }

        foreach (var pair in pairs)
        {
            await pair.Caller.DisposeAsync();
            await pair.Callee.DisposeAsync();
        }

        await Task.WhenAll(readers);
        Console.WriteLine($"offer relay:   {relay.Summary()}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lost: {total - relay.Count}"));
        return relay.Count == total ? 0 : 1;
    }

    private static async Task<BenchSocket> ConnectAsync(Uri server, string token) =>
        await BenchSocket.ConnectAsync(server, "/ws/signaling", token);

    private static async Task JoinAsync(BenchSocket socket, string room, Latency latency, Stopwatch clock)
    {
        var sent = clock.Elapsed.TotalMilliseconds;
        await socket.SendAsync(new { type = "join", roomId = room });
        await socket.ReceiveAsync("joined");
        latency.Add(clock.Elapsed.TotalMilliseconds - sent);
    }

    private static async Task ReadOffersAsync(Pair pair, Stopwatch clock, Latency latency)
    {
        while (await pair.Callee.ReceiveAsync() is { } frame)
        {
            if (frame.GetProperty("type").GetString() == "offer")
            {
                double scheduled;
                lock (pair.Pending)
                {
                    scheduled = pair.Pending.Dequeue();
                }

                latency.Add(clock.Elapsed.TotalMilliseconds - scheduled);
            }
        }
    }
}
