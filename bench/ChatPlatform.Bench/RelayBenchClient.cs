using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.Json;

namespace ChatPlatform.Bench;

/// <summary>
/// One bench user on one relay socket: sends on schedule, reads every frame, checks each delivery for duplicates and
/// seq order, and acknowledges what arrived so the server never has to resend (a resend would count as a duplicate).
/// </summary>
internal sealed class RelayBenchClient : IAsyncDisposable
{
    /// <summary>
    /// Acks are coalesced per room: one frame per interval with the highest contiguous seq, well inside the server's
    /// ~1 s resend, and no more often, because acks spend the same per-connection frame budget as sends.
    /// </summary>
    private static readonly TimeSpan AcknowledgeInterval = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(10);

    private readonly BenchSocket _socket;
    private readonly Stopwatch _clock;
    private readonly ConcurrentDictionary<Guid, SentMessage> _sent;
    private readonly ErrorCounts _lateErrors;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RoomState> _rooms = new(StringComparer.Ordinal);
    // The socket allows one send at a time; messages and acks come from different loops.
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _reader;
    private readonly Task _acknowledger;
    private RelayStep? _current;
    // Only the client's own send loop counts, one message at a time.
    private long _sendOrdinal;

    private sealed class RoomState(RelayStep step)
    {
        public RelayStep Step { get; } = step;

        /// <summary>Ids delivered in this room, to tell a duplicate; dropped once the step is reported.</summary>
        public HashSet<Guid>? Delivered { get; set; } = [];

        public TaskCompletionSource Subscribed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long PreviousSeq { get; set; }

        /// <summary>The highest send ordinal of this client's own messages delivered back to it in this room.</summary>
        public long PreviousOwnOrdinal { get; set; }

        public long ContiguousSeq { get; set; }

        public long AcknowledgedSeq { get; set; }

        /// <summary>Seqs received beyond a gap; the ack stays below the gap until it fills.</summary>
        public HashSet<long> Ahead { get; } = [];
    }

    private RelayBenchClient(
        BenchSocket socket, string clientId, Stopwatch clock, ConcurrentDictionary<Guid, SentMessage> sent, ErrorCounts lateErrors)
    {
        _socket = socket;
        _clock = clock;
        _sent = sent;
        _lateErrors = lateErrors;
        ClientId = clientId;
        _reader = Task.Run(ReadAsync);
        _acknowledger = Task.Run(AcknowledgeAsync);
    }

    public string ClientId { get; }

    public bool IsOpen => _socket.State == WebSocketState.Open;

    public static async Task<RelayBenchClient> ConnectAsync(
        Uri gateway, HttpClient http, string user, Stopwatch clock, ConcurrentDictionary<Guid, SentMessage> sent, ErrorCounts lateErrors)
    {
        // Every room: the rooms are made per step, after the token.
        var token = await BenchSocket.TokenAsync(http, user, ["*"]);
        var socket = await BenchSocket.ConnectAsync(gateway, "/ws/relay", token);
        try
        {
            var welcome = await socket.ReceiveAsync("welcome").WaitAsync(SetupTimeout);
            return new RelayBenchClient(socket, welcome.GetProperty("clientId").GetString() ?? user, clock, sent, lateErrors);
        }
        catch
        {
            await socket.DisposeAsync();
            throw;
        }
    }

    /// <summary>Subscribes to a fresh room of the step and waits for "subscribed" (nothing to replay in a new room).</summary>
    public async Task SubscribeAsync(string roomId, RelayStep step)
    {
        var room = new RoomState(step);
        lock (_gate)
        {
            _rooms[roomId] = room;
            _current = step;
        }

        await SendFrameAsync(new { type = "subscribe", roomId, afterSeq = 0 });
        try
        {
            await room.Subscribed.Task.WaitAsync(SetupTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{ClientId}: no \"subscribed\" for {roomId} within {SetupTimeout.TotalSeconds:F0} s.");
        }
    }

    /// <summary>
    /// Sends one message of the step. It is registered before it is written, so even an instant echo finds it; a
    /// write that fails is an error of the step and its deliveries stay expected: the open loop owes them.
    /// </summary>
    public async Task SendMessageAsync(RelayStep step, string roomId, int roomMembers, double scheduledMilliseconds)
    {
        var id = Guid.CreateVersion7();
        _sent[id] = new SentMessage(step, scheduledMilliseconds, ClientId, ++_sendOrdinal);
        step.RecordScheduled(roomMembers);
        if (!IsOpen)
        {
            step.RecordError("socket-closed");
            return;
        }

        var sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        step.RecordSendLag(scheduledMilliseconds, _clock.Elapsed.TotalMilliseconds);
        try
        {
            await SendFrameAsync(new { type = "send", id, roomId, text = "bench message", sentAt });
            step.RecordSent(_clock.Elapsed.TotalMilliseconds);
        }
        catch (WebSocketException)
        {
            step.RecordError("send-failed");
        }
    }

    /// <summary>
    /// After a step is reported: stop counting its rooms, acknowledge what arrived and leave them, so the server
    /// neither resends into nor keeps them (find-max adds a room per step, and subscriptions per connection are capped).
    /// </summary>
    public async Task LeaveAsync(RelayStep step)
    {
        List<(string RoomId, long? Seq)> left = [];
        lock (_gate)
        {
            foreach (var (roomId, room) in _rooms.Where(entry => entry.Value.Step == step))
            {
                room.Delivered = null;
                left.Add((roomId, room.ContiguousSeq > room.AcknowledgedSeq ? room.ContiguousSeq : null));
                room.AcknowledgedSeq = room.ContiguousSeq;
            }
        }

        try
        {
            foreach (var (roomId, seq) in left)
            {
                if (seq is not null)
                {
                    await SendFrameAsync(new { type = "ack", roomId, seq });
                }

                await SendFrameAsync(new { type = "unsubscribe", roomId });
            }
        }
        catch (WebSocketException)
        {
            // The socket is gone; the next step reports it.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _acknowledger;
        await _socket.CloseOutputAsync();
        try
        {
            await _reader.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // The server did not answer the close; disposing the socket below ends the reader.
        }

        await _socket.DisposeAsync();
        _sending.Dispose();
        _stopping.Dispose();
    }

    private async Task SendFrameAsync(object frame)
    {
        var utf8 = JsonSerializer.SerializeToUtf8Bytes(frame, JsonSerializerOptions.Web);
        await _sending.WaitAsync();
        try
        {
            await _socket.SendAsync(utf8);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _socket.ReceiveUtf8Async() is { } utf8)
            {
                RelayFrame frame;
                try
                {
                    frame = RelayFrame.Parse(utf8.Span);
                }
                catch (JsonException)
                {
                    Volatile.Read(ref _current)?.RecordError("malformed-frame");
                    continue;
                }

                OnFrame(frame, _clock.Elapsed.TotalMilliseconds);
            }
        }
        catch (Exception exception) when (exception is ObjectDisposedException or OperationCanceledException)
        {
            // Disposed while waiting: the run is over.
        }

        // A subscriber still waiting would otherwise wait out its whole timeout.
        lock (_gate)
        {
            foreach (var room in _rooms.Values)
            {
                room.Subscribed.TrySetException(new InvalidOperationException($"{ClientId}: the server closed the socket."));
            }
        }
    }

    private void OnFrame(RelayFrame frame, double now)
    {
        switch (frame.Type)
        {
            case "message":
                OnMessage(frame, now);
                break;
            case "accepted":
                if (_sent.TryGetValue(frame.Id, out var message))
                {
                    message.Step.RecordAccepted(message.ScheduledMilliseconds, now);
                }

                break;
            case "subscribed":
                OnSubscribed(frame);
                break;
            case "error":
                OnError(frame);
                break;
            default:
                // receipt, unsubscribed, pong: nothing the bench measures.
                break;
        }
    }

    private void OnMessage(RelayFrame frame, double now)
    {
        lock (_gate)
        {
            if (frame.RoomId is null || !_rooms.TryGetValue(frame.RoomId, out var room) || frame.Seq < 0)
            {
                Volatile.Read(ref _current)?.RecordError("unexpected-message");
                return;
            }

            if (room.Delivered is null)
            {
                Advance(room, frame.Seq);
                return;
            }

            if (!room.Delivered.Add(frame.Id))
            {
                room.Step.RecordDuplicate();
                return;
            }

            if (frame.Seq != room.PreviousSeq + 1)
            {
                room.Step.RecordOutOfOrder();
            }

            room.PreviousSeq = frame.Seq;
            Advance(room, frame.Seq);
            if (_sent.TryGetValue(frame.Id, out var own) && own.Sender == ClientId)
            {
                // The room's order (seq) must keep each sender's own: a later message of this client with a lower seq
                // shows up above the earlier one on every member's screen.
                if (own.SenderOrdinal < room.PreviousOwnOrdinal)
                {
                    room.Step.RecordOutOfSendOrder();
                }

                room.PreviousOwnOrdinal = Math.Max(room.PreviousOwnOrdinal, own.SenderOrdinal);
            }
        }

        // Outside the client's lock: the step's latency lock is shared by every reader.
        if (_sent.TryGetValue(frame.Id, out var message))
        {
            message.Step.RecordDelivery(message.ScheduledMilliseconds, now);
        }
    }

    private static void Advance(RoomState room, long seq)
    {
        if (seq > room.ContiguousSeq)
        {
            room.Ahead.Add(seq);
        }

        while (room.Ahead.Remove(room.ContiguousSeq + 1))
        {
            room.ContiguousSeq++;
        }
    }

    private void OnSubscribed(RelayFrame frame)
    {
        lock (_gate)
        {
            if (frame.RoomId is not null && _rooms.TryGetValue(frame.RoomId, out var room))
            {
                // A fresh room says 0; anything already stored counts as delivered before the bench began.
                room.PreviousSeq = Math.Max(room.PreviousSeq, frame.LastSeq);
                room.ContiguousSeq = Math.Max(room.ContiguousSeq, frame.LastSeq);
                Advance(room, room.ContiguousSeq);
                room.Subscribed.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Counts an error frame against the step it answers: a send's (its ref is the message's id) or, for any other
    /// frame, the step this client is in. A message id the bench no longer holds belongs to a step already reported,
    /// whose ids were dropped: a late error of the run, not the current step's.
    /// </summary>
    internal static void RecordError(
        string code, string? reference, ConcurrentDictionary<Guid, SentMessage> sent, RelayStep? current, ErrorCounts lateErrors)
    {
        if (!Guid.TryParse(reference, out var id))
        {
            current?.RecordError(code);
        }
        else if (sent.TryGetValue(id, out var message))
        {
            message.Step.RecordError(code);
        }
        else
        {
            lateErrors.Add(code);
        }
    }

    private void OnError(RelayFrame frame)
    {
        var code = frame.Code ?? "no-code";
        RecordError(code, frame.Reference, _sent, Volatile.Read(ref _current), _lateErrors);

        if (frame.Reference == "subscribe")
        {
            lock (_gate)
            {
                foreach (var room in _rooms.Values)
                {
                    room.Subscribed.TrySetException(new InvalidOperationException($"{ClientId}: subscribe refused: {code}: {frame.Message}"));
                }
            }
        }
    }

    private async Task AcknowledgeAsync()
    {
        using var timer = new PeriodicTimer(AcknowledgeInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                List<(string RoomId, long Seq)> acknowledgements = [];
                lock (_gate)
                {
                    foreach (var (roomId, room) in _rooms)
                    {
                        if (room.ContiguousSeq > room.AcknowledgedSeq)
                        {
                            acknowledgements.Add((roomId, room.ContiguousSeq));
                            room.AcknowledgedSeq = room.ContiguousSeq;
                        }
                    }
                }

                foreach (var (roomId, seq) in acknowledgements)
                {
                    await SendFrameAsync(new { type = "ack", roomId, seq });
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (WebSocketException)
        {
            // The socket is gone; the reader reports it.
        }
    }
}
