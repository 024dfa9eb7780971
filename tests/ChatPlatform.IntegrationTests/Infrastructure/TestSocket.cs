using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace ChatPlatform.IntegrationTests.Infrastructure;

/// <summary>A real WebSocket client speaking the JSON protocol, with a background reader.</summary>
public sealed class TestSocket : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly ClientWebSocket _socket;
    // ClientWebSocket allows one send at a time; tests send from their own flow and from background ackers.
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Channel<JsonElement> _frames = Channel.CreateUnbounded<JsonElement>();
    // Named when a wait fails: a frame that came early and was skipped by an earlier wait looks like one that never came.
    private readonly Queue<string> _skipped = new();
    private readonly TaskCompletionSource<WebSocketCloseStatus?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TestSocket(ClientWebSocket socket)
    {
        _socket = socket;
        _ = Task.Run(ReadLoopAsync);
    }

    public static Uri WebSocketUri(Uri http, string path, string? token)
    {
        var builder = new UriBuilder(new Uri(http, path)) { Scheme = http.Scheme == "https" ? "wss" : "ws" };
        builder.Query = token is null ? "" : $"access_token={Uri.EscapeDataString(token)}";
        return builder.Uri;
    }

    public static async Task<TestSocket> ConnectAsync(Uri uri, string? origin = null)
    {
        var socket = new ClientWebSocket();
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(uri, timeout.Token);
        return new TestSocket(socket);
    }

    /// <summary>The HTTP status of the upgrade: 101 when it was accepted, else the refusal (401, 403, 429 …).</summary>
    public static async Task<HttpStatusCode> UpgradeStatusAsync(Uri uri, string? origin = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        try
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await socket.ConnectAsync(uri, timeout.Token);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }
        catch (WebSocketException)
        {
            // the status below says why
        }

        return socket.HttpStatusCode;
    }

    public Task SendAsync(object frame) => SendRawAsync(JsonSerializer.Serialize(frame, JsonSerializerOptions.Web));

    public async Task SendRawAsync(string text)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _sendLock.WaitAsync(timeout.Token);
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async Task SendBinaryAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, timeout.Token);
    }

    /// <summary>The next frame, whatever its type.</summary>
    public async Task<JsonElement> ReceiveAnyAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        return await _frames.Reader.ReadAsync(cancel.Token);
    }

    /// <summary>The next frame of the given type; frames of other types before it are skipped.</summary>
    public async Task<JsonElement> ReceiveAsync(string type, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            JsonElement frame;
            try
            {
                frame = await _frames.Reader.ReadAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No \"{type}\" frame within {timeout ?? DefaultTimeout}; the last frames skipped on this socket: [{SkippedTypes()}].");
            }
            catch (ChannelClosedException)
            {
                throw new InvalidOperationException($"The socket closed ({_closed.Task.Result}) before a \"{type}\" frame came.");
            }

            var frameType = frame.GetProperty("type").GetString();
            if (frameType == type)
            {
                return frame;
            }

            lock (_skipped)
            {
                _skipped.Enqueue(frameType ?? "?");
                if (_skipped.Count > 20)
                {
                    _skipped.Dequeue();
                }
            }
        }
    }

    private string SkippedTypes()
    {
        lock (_skipped)
        {
            return string.Join(", ", _skipped);
        }
    }

    /// <summary>True once the connection ended, whoever ended it.</summary>
    public bool IsClosed => _closed.Task.IsCompleted || _socket.State is WebSocketState.Aborted or WebSocketState.Closed;

    /// <summary>How the server closed the socket.</summary>
    public async Task<WebSocketCloseStatus?> ClosedAsync(TimeSpan? timeout = null) =>
        await _closed.Task.WaitAsync(timeout ?? DefaultTimeout);

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                var count = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(new ArraySegment<byte>(buffer, count, buffer.Length - count), CancellationToken.None);
                    count += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult(result.CloseStatus);
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "ok", CancellationToken.None);
                    return;
                }

                using var document = JsonDocument.Parse(buffer.AsMemory(0, count));
                await _frames.Writer.WriteAsync(document.RootElement.Clone());
            }
        }
        catch (Exception exception) when (exception is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            _closed.TrySetResult(null);
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            }
            catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
            {
                // the server is gone already
            }
        }

        _socket.Dispose();
        _sendLock.Dispose();
    }
}
