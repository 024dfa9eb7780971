namespace ChatPlatform.Bench;

/// <summary>
/// One idle relay or signaling socket. A receive is always pending on it: ClientWebSocket answers the server's WebSocket
/// pings only while a receive is in progress (an unread socket would be dropped after the ~35 s ping timeout), and that
/// receive ending is how a drop shows.
/// </summary>
internal sealed class IdleConnection : IAsyncDisposable
{
    /// <summary>An idle socket reads welcome, subscribed or joined and error frames, all far smaller; 10,000 × 64 KiB would be 640 MiB of bench.</summary>
    private const int ReceiveBufferBytes = 4 * 1024;

    private static readonly TimeSpan FrameTimeout = TimeSpan.FromSeconds(30);

    private readonly BenchSocket _socket;
    private readonly IdleService _service;
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;
    private bool _closedByUs;

    private IdleConnection(BenchSocket socket, IdleService service)
    {
        _socket = socket;
        _service = service;
        _reader = ReadAsync();
    }

    public bool IsOpen => !_reader.IsCompleted;

    /// <summary>Why the socket ended without the bench closing it, or null.</summary>
    public string? DropReason => IsOpen || _closedByUs ? null : _socket.CloseReason ?? "closed without a close frame";

    /// <summary>Opens the socket and waits for its welcome: only then does the service count it and hold its session.</summary>
    public static async Task<IdleConnection> OpenAsync(Uri target, IdleService service, string token)
    {
        var socket = await BenchSocket.ConnectAsync(target, service.Path, token, ReceiveBufferBytes);
        try
        {
            await socket.ReceiveAsync("welcome").WaitAsync(FrameTimeout);
            return new IdleConnection(socket, service);
        }
        catch
        {
            await socket.DisposeAsync();
            throw;
        }
    }

    /// <summary>Subscribes to (or joins) a room and waits for the answer (a fresh room has nothing to replay).</summary>
    public async Task JoinAsync(string roomId)
    {
        await _socket.SendAsync(_service.JoinFrame(roomId));
        await _joined.Task.WaitAsync(FrameTimeout);
    }

    /// <summary>Closes with the handshake and waits for the server's close frame, so the service has let the session go.</summary>
    public async ValueTask DisposeAsync()
    {
        _closedByUs = true;
        await _socket.CloseOutputAsync();
        try
        {
            await _reader.WaitAsync(FrameTimeout);
        }
        catch (TimeoutException)
        {
            // The server never answered the close: disposing below aborts the socket, which the service sees too.
        }

        await _socket.DisposeAsync();
    }

    private async Task ReadAsync()
    {
        while (await _socket.ReceiveUtf8Async() is { } utf8)
        {
            var frame = RelayFrame.Parse(utf8.Span);
            if (frame.Type == _service.JoinedType)
            {
                _joined.TrySetResult();
            }
            else if (frame.Type == "error")
            {
                _joined.TrySetException(new InvalidOperationException($"error {frame.Code}: {frame.Message}"));
            }
        }

        _joined.TrySetException(new InvalidOperationException($"closed ({_socket.CloseReason ?? "no close frame"}) before \"{_service.JoinedType}\""));
    }
}
