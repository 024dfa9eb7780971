using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace ChatPlatform.Bench;

/// <summary>
/// The floor under every relay figure: one WebSocket round trip client → gateway → relay → gateway → client.
/// Open loop: each ping is timed from when it was scheduled, so a stall shows up instead of being skipped.
/// </summary>
internal static class PingBench
{
    private static readonly string[] BenchRooms = ["bench"];

    private sealed record TokenResponse(string Token);

    public static async Task<int> RunAsync(BenchOptions options)
    {
        using var http = new HttpClient { BaseAddress = options.Gateway };
        var token = (await (await http.PostAsJsonAsync("/auth/token", new { user = "bench", rooms = BenchRooms }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<TokenResponse>())!.Token;
        var uri = new UriBuilder(new Uri(options.Gateway, "/ws/relay")) { Scheme = "ws", Query = $"access_token={token}" }.Uri;

        var sockets = new List<ClientWebSocket>();
        for (var i = 0; i < options.Clients; i++)
        {
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(uri, CancellationToken.None);
            await ReceiveAsync(socket); // welcome
            sockets.Add(socket);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ping: {options.Clients} sockets through {options.Gateway}, {options.Rate} pings/s for {options.Seconds} s"));
        var latency = new Latency();
        var clock = Stopwatch.StartNew();
        var total = options.Rate * options.Seconds;
        var perSocket = sockets.Select(_ => new Queue<double>()).ToArray();
        var readers = sockets.Select((socket, index) => ReadPongsAsync(socket, perSocket[index], clock, latency)).ToArray();
        var ping = Encoding.UTF8.GetBytes("""{"type":"ping"}""");
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

            await sockets[index].SendAsync(ping, WebSocketMessageType.Text, true, CancellationToken.None);
        }

        var deadline = clock.Elapsed + TimeSpan.FromSeconds(5);
        while (latency.Count < total && clock.Elapsed < deadline)
        {
            await Task.Delay(50);
        }

        foreach (var socket in sockets)
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        await Task.WhenAll(readers);
        Console.WriteLine($"round trip: {latency.Summary()}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lost: {total - latency.Count}"));
        return latency.Count == total ? 0 : 1;
    }

    private static async Task ReadPongsAsync(ClientWebSocket socket, Queue<double> pending, Stopwatch clock, Latency latency)
    {
        while (socket.State == WebSocketState.Open)
        {
            var frame = await ReceiveAsync(socket);
            if (frame is null)
            {
                return;
            }

            if (frame.Value.GetProperty("type").GetString() == "pong")
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

    private static async Task<JsonElement?> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var count = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            try
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
            }
            catch (WebSocketException)
            {
                return null;
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            count += result.Count;
        }
        while (!result.EndOfMessage);

        return JsonDocument.Parse(buffer.AsMemory(0, count)).RootElement.Clone();
    }
}
