using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace ChatPlatform.Bench;

/// <summary>
/// What one user sees while a server the stack depends on is away (`./chat bench outage --restart rabbitmq` stops and
/// starts it during the run). The user sends --rate new messages a second, sends an id again a second after it was
/// refused or left unanswered (at most 16 a second, oldest first; the web client backs off instead, but a fixed second
/// shows when the platform is back rather than when a backoff ended), and reconnects and resumes if its socket
/// closes. Reported: when
/// sends were refused, the longest stretches with nothing accepted and nothing stored, how long after accepting came
/// back storing did, and each message's first send → stored. Exit 1 if a message was never stored, or stored twice.
/// </summary>
internal static class OutageBench
{
    /// <summary>The web client's wait before it sends a refused or unanswered id again.</summary>
    private static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(1);

    /// <summary>Sends of old ids per tick (16 a second): with the new messages and the acks, well inside the relay's
    /// per-connection frame budget (200 a second by default); a refusal for the rate would show among the other errors.</summary>
    private const int ResendsPerTick = 2;

    /// <summary>A stretch this long with nothing accepted means accepting stopped (a PostgreSQL outage does not stop it).</summary>
    private static readonly TimeSpan AcceptingStopped = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(125);

    /// <summary>After the last new message: how long the run waits for every message to come back stored.</summary>
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(60);

    /// <summary>Once every message is stored: how long the run keeps listening, so a second copy stored late is seen.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);

    private sealed class Message(int ordinal, double firstSent)
    {
        public int Ordinal { get; } = ordinal;
        public double FirstSent { get; } = firstSent;
        public double LastTried { get; set; } = firstSent;
        public double? Accepted { get; set; }
        public double? Stored { get; set; }
        public long Seq { get; set; }
        public bool StoredTwice { get; set; }
    }

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var room = $"outage-{Guid.NewGuid():N}"[..15];
        var token = await BenchSocket.TokenAsync(options.Gateway, "outage-probe", [room]);
        var startedAt = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        double Now() => clock.Elapsed.TotalSeconds;
        string Wall(double seconds) => startedAt.AddSeconds(seconds).ToString("HH:mm:ss.f", CultureInfo.InvariantCulture);

        var messages = new Dictionary<Guid, Message>();
        var refusals = new List<double>();
        var otherErrors = new Dictionary<string, int>();
        var reconnects = 0;
        long lastSeq = 0;
        var gate = new Lock();

        // The reader replaces the socket when it reconnects; the sending loop reads whichever is current.
        var connection = new StrongBox<BenchSocket>(await ConnectAsync(options, token, room, 0));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"outage: one user in {room}, {options.Rate} new messages/s for {options.Seconds} s, started {Wall(0)}"));

        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var socket = Volatile.Read(ref connection.Value!);
                if (await socket.ReceiveUtf8Async() is not { } utf8)
                {
                    if (stop.IsCancellationRequested)
                    {
                        return;
                    }

                    // Closed (a relay restarting, a drain): reconnect and resume from the last seq, as the client does.
                    await socket.DisposeAsync();
                    long resumeAfter;
                    lock (gate)
                    {
                        resumeAfter = lastSeq;
                        reconnects++;
                    }

                    Volatile.Write(ref connection.Value, await ConnectWithRetriesAsync(options, token, room, resumeAfter, stop.Token));
                    continue;
                }

                var frame = RelayFrame.Parse(utf8.Span);
                lock (gate)
                {
                    switch (frame.Type)
                    {
                        case "accepted" when messages.TryGetValue(frame.Id, out var message):
                            message.Accepted ??= Now();
                            break;
                        case "error" when frame.Code == "unavailable":
                            refusals.Add(Now());
                            break;
                        case "error":
                            otherErrors[frame.Code ?? "?"] = otherErrors.GetValueOrDefault(frame.Code ?? "?") + 1;
                            break;
                        case "message" when messages.TryGetValue(frame.Id, out var message):
                            if (message.Stored is null)
                            {
                                message.Stored = Now();
                                message.Seq = frame.Seq;
                            }
                            else if (message.Seq != frame.Seq)
                            {
                                message.StoredTwice = true;
                            }

                            lastSeq = Math.Max(lastSeq, frame.Seq);
                            break;
                    }
                }
            }
        });

        var newEvery = 1.0 / options.Rate;
        var nextNew = 0.0;
        var ordinal = 0;
        var lastAck = 0L;
        var drainUntil = options.Seconds + Drain.TotalSeconds;
        while (Now() < drainUntil)
        {
            var now = Now();
            List<(Guid Id, Message Message)> toSend = [];
            long ack;
            lock (gate)
            {
                while (nextNew < options.Seconds && now >= nextNew)
                {
                    var message = new Message(++ordinal, now);
                    var id = Guid.CreateVersion7();
                    messages[id] = message;
                    toSend.Add((id, message));
                    nextNew += newEvery;
                }

                toSend.AddRange(messages.Where(pair => pair.Value is { Accepted: null, Stored: null } && now - pair.Value.LastTried >= ResendAfter.TotalSeconds)
                    .OrderBy(pair => pair.Value.Ordinal).Take(ResendsPerTick).Select(pair => (pair.Key, pair.Value)));
                foreach (var (_, message) in toSend)
                {
                    message.LastTried = now;
                }

                ack = lastSeq;
                if (now >= options.Seconds && messages.Values.All(message => message.Stored is not null))
                {
                    drainUntil = Math.Min(drainUntil, now + Settle.TotalSeconds);
                }
            }

            foreach (var (id, message) in toSend)
            {
                await SendQuietlyAsync(Volatile.Read(ref connection.Value!), new { type = "send", id, roomId = room, text = $"outage probe {message.Ordinal}", sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
            }

            if (ack > lastAck)
            {
                await SendQuietlyAsync(Volatile.Read(ref connection.Value!), new { type = "ack", roomId = room, seq = ack });
                lastAck = ack;
            }

            if (reader.IsCompleted)
            {
                // Nothing more can be counted; the report says what was, and the reason follows it.
                break;
            }

            await Task.Delay(Tick);
        }

        // Taken before the stop: a reader that ended by itself stopped counting early, whatever the reason.
        var readerEndedEarly = reader.IsCompleted;
        await stop.CancelAsync();
        await Volatile.Read(ref connection.Value!).DisposeAsync();
        Exception? readerFault = null;
        try
        {
            await reader.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            // A reader still reconnecting when the run ended has nothing left to count.
        }
        catch (Exception exception)
        {
            readerFault = exception;
        }

        int result;
        lock (gate)
        {
            result = Report(messages.Values.ToList(), refusals, otherErrors, reconnects, Wall);
        }

        if (readerEndedEarly)
        {
            Console.WriteLine($"the reader stopped early: {readerFault?.Message ?? reader.Status.ToString()}");
            return 1;
        }

        return result;
    }

    private static int Report(List<Message> messages, List<double> refusals, Dictionary<string, int> otherErrors, int reconnects, Func<double, string> wall)
    {
        var stored = messages.Where(message => message.Stored is not null).ToList();
        var storedTwice = messages.Count(message => message.StoredTwice);
        var lost = messages.Count - stored.Count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sent {messages.Count}, accepted {messages.Count(message => message.Accepted is not null)}, stored {stored.Count}, never stored {lost}, stored twice {storedTwice}, reconnects {reconnects}"));
        if (refusals.Count > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"'unavailable' {refusals.Count} times, from {wall(refusals.Min())} to {wall(refusals.Max())}"));
        }

        if (otherErrors.Count > 0)
        {
            Console.WriteLine($"other errors: {string.Join(", ", otherErrors.Select(error => $"{error.Key} {error.Value}"))}");
        }

        var accepting = LongestGap(messages.Select(message => message.Accepted));
        var storing = LongestGap(stored.Select(message => message.Stored));
        if (accepting is { } acceptGap && storing is { } storeGap)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"nothing accepted for {acceptGap.Length:F1} s ({wall(acceptGap.From)} to {wall(acceptGap.To)}); nothing stored for {storeGap.Length:F1} s ({wall(storeGap.From)} to {wall(storeGap.To)})"));
            if (acceptGap.Length >= AcceptingStopped.TotalSeconds)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"storing (the stored message back at its sender) came back {storeGap.To - acceptGap.To:F1} s after accepting did"));
            }
        }

        var waits = new Latency();
        foreach (var message in stored)
        {
            waits.Add((message.Stored!.Value - message.FirstSent) * 1000);
        }

        Console.WriteLine($"first send → stored: {waits.Summary()}");
        return lost == 0 && storedTwice == 0 ? 0 : 1;
    }

    private static (double From, double To, double Length)? LongestGap(IEnumerable<double?> times)
    {
        var sorted = times.OfType<double>().Order().ToList();
        return sorted.Count < 2
            ? null
            : sorted.Zip(sorted.Skip(1), (from, to) => (from, to, to - from)).MaxBy(gap => gap.Item3);
    }

    private static async Task<BenchSocket> ConnectAsync(BenchOptions options, string token, string room, long afterSeq)
    {
        var socket = await BenchSocket.ConnectAsync(options.Gateway, "/ws/relay", token);
        await socket.ReceiveAsync("welcome");
        await socket.SendAsync(new { type = "subscribe", roomId = room, afterSeq });
        return socket;
    }

    private static async Task<BenchSocket> ConnectWithRetriesAsync(BenchOptions options, string token, string room, long afterSeq, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await ConnectAsync(options, token, room, afterSeq);
            }
            catch (Exception exception) when (exception is System.Net.WebSockets.WebSocketException or InvalidOperationException or HttpRequestException
                                              && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
        }
    }

    /// <summary>A send on a socket that just closed is lost like any unanswered send: the resend covers it.</summary>
    private static async Task SendQuietlyAsync(BenchSocket socket, object frame)
    {
        try
        {
            await socket.SendAsync(frame);
        }
        catch (Exception exception) when (exception is System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }
}
