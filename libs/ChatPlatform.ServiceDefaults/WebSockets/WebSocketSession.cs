using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Channels;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.ServiceDefaults.WebSockets;

/// <summary>
/// One client WebSocket: a receive loop that enforces the frame limit and hands each JSON frame to the
/// service's protocol one at a time, and a single writer draining a bounded queue, so that a slow reader
/// is disconnected instead of buffered without bound.
/// </summary>
public sealed class WebSocketSession : IDisposable
{
    // Receives the byte after a message that filled the frame limit, which proves it over the limit. Shared by
    // every session: what lands in it is never read.
    private static readonly byte[] LimitProbe = new byte[1];

    private readonly WebSocket _socket;
    private readonly ChatWebSocketOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<byte[]> _outgoing;
    // One writer at a time: frames from the queue and the close frame must not interleave.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    // Cancelling a pending WebSocket call aborts the socket; that is how a stuck close is ended.
    private readonly CancellationTokenSource _abort = new();
    private readonly FrameBudget _frameBudget;
    private int _closing;
    private int _rateLimitedInARow;

    public WebSocketSession(WebSocket socket, ChatUser user, string clientId, ChatWebSocketOptions options, ILogger logger)
    {
        _socket = socket;
        User = user;
        ClientId = clientId;
        _options = options;
        _logger = logger;
        _outgoing = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(options.SendQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _frameBudget = new FrameBudget(options.FrameBurst, options.FramesPerSecond, TimeProvider.System);
    }

    public string ClientId { get; }

    public ChatUser User { get; }

    /// <summary>
    /// The trace of the upgrade request that opened this socket (through the gateway), or default when it was not
    /// traced. A message sent on the connection starts a trace of its own that links here.
    /// </summary>
    public ActivityContext ConnectionTrace { get; init; }

    /// <summary>Frames queued but not yet written.</summary>
    public int QueueLength => _outgoing.Reader.Count;

    public bool IsClosing => Volatile.Read(ref _closing) == 1;

    /// <summary>Fires once when the session ends, for whatever reason.</summary>
    public CancellationToken Closed => _abort.Token;

    /// <summary>Queues a frame. A full queue means the client reads too slowly: it is disconnected (1008).</summary>
    public bool Send(ServerFrame frame) => !IsClosing && SendSerialized(ServerFrame.Serialize(frame));

    /// <summary>Queues a frame serialized once for many clients (<see cref="ServerFrame.Serialize"/>); never modified after.</summary>
    public bool SendSerialized(byte[] bytes)
    {
        if (IsClosing)
        {
            return false;
        }

        if (_outgoing.Writer.TryWrite(bytes))
        {
            return true;
        }

        _logger.LogWarning("Closing {ClientId}: its send queue of {Capacity} frames is full", ClientId, _options.SendQueueCapacity);
        _ = CloseAsync(CloseCodes.PolicyViolation, "send queue overflow: the client reads too slowly");
        return false;
    }

    /// <summary>
    /// Queues a frame, waiting while the queue is full: for bulk sends the client asked for (a replay), which
    /// the client paces by reading. Returns false once the session is closing.
    /// </summary>
    public async ValueTask<bool> SendAsync(ServerFrame frame)
    {
        if (IsClosing)
        {
            return false;
        }

        var bytes = ServerFrame.Serialize(frame);
        try
        {
            await _outgoing.Writer.WriteAsync(bytes, _abort.Token);
            return true;
        }
        catch (Exception exception) when (exception is ChannelClosedException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Starts the closing handshake; the socket is aborted if the client does not answer in time.</summary>
    public async Task CloseAsync(int code, string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1)
        {
            return;
        }

        _outgoing.Writer.TryComplete();
        if (!await _writeLock.WaitAsync(_options.CloseTimeout))
        {
            // The writer is stuck on a client that does not read: no close frame can get through.
            _abort.Cancel();
            return;
        }

        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
                timeout.CancelAfter(_options.CloseTimeout);
                await _socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token);
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogDebug(exception, "Close of {ClientId} did not complete", ClientId);
        }
        finally
        {
            _writeLock.Release();
            _abort.CancelAfter(_options.CloseTimeout);
        }
    }

    /// <summary>
    /// Takes one frame from the connection's budget. Over it the frame is refused; a client that keeps
    /// going regardless is closed (1008): the flood costs the sender, not the other users.
    /// </summary>
    internal bool TryTakeFrameBudget()
    {
        if (_frameBudget.TryTake())
        {
            _rateLimitedInARow = 0;
            return true;
        }

        if (++_rateLimitedInARow > _options.MaxRateLimitedFrames)
        {
            _ = CloseAsync(CloseCodes.PolicyViolation, "rate limit exceeded repeatedly");
        }

        return false;
    }

    public void Dispose()
    {
        _abort.Dispose();
        _writeLock.Dispose();
    }

    internal async Task RunAsync(Func<ReadOnlyMemory<byte>, ValueTask> onTextFrame, Action onOversized)
    {
        var writer = WriteLoopAsync();
        try
        {
            await ReceiveLoopAsync(onTextFrame, onOversized);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
            _logger.LogDebug(exception, "Socket of {ClientId} ended abruptly", ClientId);
        }
        finally
        {
            Interlocked.Exchange(ref _closing, 1);
            _outgoing.Writer.TryComplete();
            await _abort.CancelAsync();
            await writer;
        }
    }

    private async Task ReceiveLoopAsync(Func<ReadOnlyMemory<byte>, ValueTask> onTextFrame, Action onOversized)
    {
        while (true)
        {
            // Wait for the next message with no buffer (a zero-byte receive returns once a data frame's header is in;
            // pings and pongs are answered inside), so an idle socket holds none; one is borrowed from the shared pool
            // only while a message is read and handled.
            var result = await _socket.ReceiveAsync(Memory<byte>.Empty, _abort.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await AnswerClientCloseAsync();
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(_options.ReceiveBufferBytes, _options.MaxFrameBytes));
            try
            {
                var count = 0;
                // A refused message is read to its end without keeping it, while the close handshake completes.
                var discarding = false;
                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    // Refused at its first frame, before any of it is read.
                    await CloseAsync(CloseCodes.UnsupportedData, "binary frames are not part of the protocol");
                    discarding = true;
                }

                while (!result.EndOfMessage)
                {
                    if (discarding)
                    {
                        count = 0;
                    }

                    // A pooled buffer may be larger than asked for: never read past the frame limit.
                    var capacity = Math.Min(buffer.Length, _options.MaxFrameBytes);
                    if (count == capacity && capacity < _options.MaxFrameBytes)
                    {
                        buffer = GrowFrameBuffer(buffer, count);
                        capacity = Math.Min(buffer.Length, _options.MaxFrameBytes);
                    }

                    // At the limit, the message is over it only if another byte follows: its last fragment may be empty.
                    result = await _socket.ReceiveAsync(count == capacity ? LimitProbe : buffer.AsMemory(count, capacity - count), _abort.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await AnswerClientCloseAsync();
                        return;
                    }

                    if (count == capacity && result.Count > 0)
                    {
                        onOversized();
                        await CloseAsync(CloseCodes.MessageTooBig, $"frame larger than {_options.MaxFrameBytes} bytes");
                        discarding = true;
                        continue;
                    }

                    count += result.Count;
                }

                // Also a message that arrived while the session closes for another reason: nobody will answer it.
                if (discarding || IsClosing)
                {
                    continue;
                }

                await onTextFrame(buffer.AsMemory(0, count));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Completes the closing handshake the client started, with its code.</summary>
    private Task AnswerClientCloseAsync() => CloseAsync((int?)_socket.CloseStatus ?? CloseCodes.GoingAway, "closed by client");

    /// <summary>A buffer from the shared pool that holds a frame up to the limit, with what was read so far; the smaller one goes back.</summary>
    private byte[] GrowFrameBuffer(byte[] smaller, int count)
    {
        var larger = ArrayPool<byte>.Shared.Rent(_options.MaxFrameBytes);
        smaller.AsSpan(0, count).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(smaller);
        return larger;
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (var frame in _outgoing.Reader.ReadAllAsync(_abort.Token))
            {
                await _writeLock.WaitAsync(_abort.Token);
                try
                {
                    if (IsClosing && _socket.State != WebSocketState.Open)
                    {
                        return;
                    }

                    await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, _abort.Token);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogDebug(exception, "Writer of {ClientId} stopped", ClientId);
        }
    }
}
