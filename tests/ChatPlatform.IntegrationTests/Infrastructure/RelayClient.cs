using System.Net.WebSockets;
using System.Text.Json;

namespace ChatPlatform.IntegrationTests.Infrastructure;

/// <summary>A received <c>message</c> frame.</summary>
public sealed record ReceivedMessage(Guid Id, string RoomId, long Seq, string From, string Text);

/// <summary>
/// A relay client that behaves as the web client does: it acknowledges what it received (cumulatively, every
/// 50 ms), resends a message with the same id until it is accepted, and after losing its connection reconnects
/// and resumes each room with afterSeq. It records every frame, duplicates included, so tests can count exactly
/// what arrived.
/// </summary>
public sealed class RelayClient : IAsyncDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan AckInterval = TimeSpan.FromMilliseconds(50);

    private readonly Uri _gateway;
    private readonly string _token;
    private readonly Lock _gate = new();
    private readonly List<ReceivedMessage> _messages = [];
    private readonly List<JsonElement> _frames = [];
    private readonly Dictionary<string, long> _acknowledged = [];
    private readonly HashSet<string> _rooms = [];
    // A resume asks for what came after afterSeq: the seqs up to it count as had, or this client would never ack.
    private readonly Dictionary<string, long> _resumedAfter = [];
    private readonly CancellationTokenSource _stop = new();
    private TestSocket _socket = null!;
    private Task _reader = Task.CompletedTask;
    private readonly Task _acker;

    private RelayClient(Uri gateway, string token, string user, bool acknowledge)
    {
        _gateway = gateway;
        _token = token;
        User = user;
        Acknowledge = acknowledge;
        _acker = Task.Run(AcknowledgeLoopAsync);
    }

    public string User { get; }

    /// <summary>Whether received messages are acknowledged (a client that does not ack gets resends).</summary>
    public bool Acknowledge { get; set; }

    public static async Task<RelayClient> ConnectAsync(Uri gateway, string user, string[] rooms, bool acknowledge = true)
    {
        var client = new RelayClient(gateway, await Tokens.IssueAsync(gateway, user, rooms), user, acknowledge);
        await client.OpenAsync();
        return client;
    }

    /// <summary>Connects with a token for one room and subscribes to it from the start: a member ready to chat.</summary>
    public static async Task<RelayClient> JoinAsync(Uri gateway, string user, string room, bool acknowledge = true)
    {
        var client = await ConnectAsync(gateway, user, [room], acknowledge);
        await client.SubscribeAsync(room);
        return client;
    }

    /// <summary>Reconnects (through the gateway, to whichever instance is alive) and resumes every room it had.</summary>
    public async Task ReconnectAsync()
    {
        await _socket.DisposeAsync();
        await OpenAsync();
        string[] rooms;
        lock (_gate)
        {
            rooms = [.. _rooms];
        }

        foreach (var room in rooms)
        {
            await SubscribeAsync(room, LastContiguousSeq(room));
        }
    }

    private async Task OpenAsync()
    {
        // The gateway may still route to an instance that just died; a real client retries the same way.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var socket = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(_gateway, "/ws/relay", _token));
                var welcome = await socket.ReceiveAsync("welcome");
                lock (_gate)
                {
                    _frames.Add(welcome);
                }

                _socket = socket;
                _reader = Task.Run(() => ReadAsync(socket));
                return;
            }
            catch (Exception exception) when (attempt < 40 && exception is WebSocketException or TimeoutException or InvalidOperationException or OperationCanceledException)
            {
                await Task.Delay(500);
            }
        }
    }

    /// <summary>Every message frame received in a room, in arrival order, duplicates included.</summary>
    public IReadOnlyList<ReceivedMessage> MessagesIn(string roomId)
    {
        lock (_gate)
        {
            return _messages.Where(m => m.RoomId == roomId).ToList();
        }
    }

    /// <summary>The first arrival of each message in a room, in arrival order: what a client renders.</summary>
    public IReadOnlyList<ReceivedMessage> DistinctMessagesIn(string roomId) =>
        MessagesIn(roomId).DistinctBy(m => m.Id).ToList();

    /// <summary>Every frame received, in arrival order.</summary>
    public IReadOnlyList<JsonElement> Frames()
    {
        lock (_gate)
        {
            return _frames.ToList();
        }
    }

    public IReadOnlyList<JsonElement> FramesOfType(string type)
    {
        lock (_gate)
        {
            return _frames.Where(frame => Type(frame) == type).ToList();
        }
    }

    public Task<WebSocketCloseStatus?> ClosedAsync(TimeSpan timeout) => _socket.ClosedAsync(timeout);

    /// <summary>
    /// Subscribes and waits for <c>subscribed</c>; returns its lastSeq. An <c>unavailable</c> answer (storage out of
    /// reach, as right after a broker restart) is met by subscribing again, as the protocol asks and the web client does.
    /// </summary>
    public async Task<long> SubscribeAsync(string roomId, long afterSeq = 0)
    {
        int Subscribed() => FramesOfType("subscribed").Count(frame => frame.GetProperty("roomId").GetString() == roomId);
        int Unavailable() => FramesOfType("error").Count(frame =>
            frame.GetProperty("code").GetString() == "unavailable" && frame.TryGetProperty("ref", out var reference) && reference.GetString() == "subscribe");
        var before = Subscribed();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(40);
        while (true)
        {
            var refusals = Unavailable();
            await _socket.SendAsync(new { type = "subscribe", roomId, afterSeq });
            var remaining = deadline - DateTimeOffset.UtcNow;
            if (!await WaitUntilAsync(() => Subscribed() > before || Unavailable() > refusals, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero))
            {
                throw new TimeoutException($"{User}: no \"subscribed\" for {roomId}; errors: {string.Join(", ", FramesOfType("error"))}");
            }

            if (Subscribed() > before)
            {
                break;
            }

            await Task.Delay(500);
        }

        lock (_gate)
        {
            _rooms.Add(roomId);
            _resumedAfter[roomId] = Math.Max(_resumedAfter.GetValueOrDefault(roomId), afterSeq);
        }

        return FramesOfType("subscribed").Last(frame => frame.GetProperty("roomId").GetString() == roomId).GetProperty("lastSeq").GetInt64();
    }

    public Task SendAsync(object frame) => _socket.SendAsync(frame);

    public Task SendRawAsync(string text) => _socket.SendRawAsync(text);

    public Task SendMessageAsync(Guid id, string roomId, string text) =>
        _socket.SendAsync(new { type = "send", id, roomId, text, sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });

    /// <summary>
    /// Sends until the platform accepts the message, always with the same id, as the web client does when the
    /// relay answers <c>unavailable</c>, says nothing, or the connection drops (then it reconnects and resumes).
    /// Returns how many times it was sent.
    /// </summary>
    public async Task<int> SendUntilAcceptedAsync(Guid id, string roomId, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        for (var attempt = 1; ; attempt++)
        {
            var errorsBefore = ErrorsFor(id).Count;
            try
            {
                await SendMessageAsync(id, roomId, text);
                await WaitUntilAsync(() => IsAccepted(id) || ErrorsFor(id).Count > errorsBefore || _socket.IsClosed, TimeSpan.FromSeconds(10));
            }
            catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // the connection dropped mid-send: reconnect below
            }

            if (IsAccepted(id))
            {
                return attempt;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{id} was not accepted within {timeout} ({attempt} attempts).");
            }

            if (_socket.IsClosed)
            {
                await ReconnectAsync();
            }
            else
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Reconnects and resumes whenever the connection drops, until cancelled: a browser tab's behaviour.</summary>
    public async Task StayConnectedAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_socket.IsClosed)
            {
                await ReconnectAsync();
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    public bool IsAccepted(Guid id) =>
        FramesOfType("accepted").Any(frame => frame.GetProperty("id").GetGuid() == id);

    public IReadOnlyList<JsonElement> ErrorsFor(string reference) =>
        FramesOfType("error").Where(frame => frame.TryGetProperty("ref", out var value) && value.GetString() == reference).ToList();

    public IReadOnlyList<JsonElement> ErrorsFor(Guid id) => ErrorsFor(id.ToString());

    /// <summary>Waits until the room holds <paramref name="count"/> distinct messages; returns whether it did.</summary>
    public Task<bool> WaitForDistinctMessagesAsync(string roomId, int count, TimeSpan timeout) =>
        WaitUntilAsync(() => DistinctMessagesIn(roomId).Count >= count, timeout);

    /// <summary>
    /// The highest seq up to which every seq of the room arrived, or was skipped by subscribing after it: what a
    /// resume asks after, and what an ack covers.
    /// </summary>
    public long LastContiguousSeq(string roomId)
    {
        var seqs = MessagesIn(roomId).Select(m => m.Seq).ToHashSet();
        long last;
        lock (_gate)
        {
            last = _resumedAfter.GetValueOrDefault(roomId);
        }

        while (seqs.Contains(last + 1))
        {
            last++;
        }

        return last;
    }

    public static Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout);

    public static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(Poll);
        }

        return true;
    }

    private async Task ReadAsync(TestSocket socket)
    {
        while (true)
        {
            JsonElement frame;
            try
            {
                frame = await socket.ReceiveAnyAsync(TimeSpan.FromDays(1));
            }
            catch (Exception exception) when (exception is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
            {
                return;
            }

            lock (_gate)
            {
                _frames.Add(frame);
                if (Type(frame) == "message")
                {
                    _messages.Add(new ReceivedMessage(
                        frame.GetProperty("id").GetGuid(), frame.GetProperty("roomId").GetString()!,
                        frame.GetProperty("seq").GetInt64(), frame.GetProperty("from").GetString()!, frame.GetProperty("text").GetString()!));
                }
            }
        }
    }

    /// <summary>Acks are cumulative: one per room per interval carries everything received since the last.</summary>
    private async Task AcknowledgeLoopAsync()
    {
        using var timer = new PeriodicTimer(AckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                if (!Acknowledge || _socket is null || _socket.IsClosed)
                {
                    continue;
                }

                string[] rooms;
                lock (_gate)
                {
                    rooms = [.. _messages.Select(m => m.RoomId).Distinct()];
                }

                foreach (var room in rooms)
                {
                    var seq = LastContiguousSeq(room);
                    if (seq > _acknowledged.GetValueOrDefault(room))
                    {
                        try
                        {
                            await _socket.SendAsync(new { type = "ack", roomId = room, seq });
                            _acknowledged[room] = seq;
                        }
                        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
                        {
                            // the connection dropped; acks go out again after the reconnect
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string? Type(JsonElement frame) => frame.GetProperty("type").GetString();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _acker.ContinueWith(_ => { }, TaskScheduler.Default);
        await _socket.DisposeAsync();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }
}
