using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace ChatPlatform.Bench;

/// <summary>A protocol client for the bench: JSON frames over one WebSocket, tokens from the gateway's dev issuer.</summary>
internal sealed class BenchSocket(ClientWebSocket socket, int receiveBufferBytes = BenchSocket.DefaultReceiveBufferBytes) : IAsyncDisposable
{
    /// <summary>The relay's largest frame: a bench reading replays and bursts must hold any of them.</summary>
    public const int DefaultReceiveBufferBytes = 64 * 1024;

    private sealed record TokenResponse(string Token);

    /// <summary>The gateway rate-limits tokens and upgrades per IP; a bench with many clients waits its turn this often.</summary>
    private const int MaxRateLimitedAttempts = 120;

    private static readonly TimeSpan LongestRetryAfter = TimeSpan.FromSeconds(30);

    private readonly byte[] _buffer = new byte[receiveBufferBytes];

    public WebSocketState State => socket.State;

    /// <summary>How the server closed the socket ("1008 send queue overflow…"), or null while it is open.</summary>
    public string? CloseReason => socket.CloseStatus is { } status ? $"{(int)status} {socket.CloseStatusDescription}" : null;

    public static async Task<string> TokenAsync(Uri gateway, string user, string[] rooms)
    {
        using var http = new HttpClient { BaseAddress = gateway };
        return await TokenAsync(http, user, rooms);
    }

    /// <summary>A token from the dev issuer; a 429 (burst spent) is waited out as its Retry-After says, then retried.</summary>
    public static async Task<string> TokenAsync(HttpClient http, string user, string[] rooms)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await http.PostAsJsonAsync("/auth/token", new { user, rooms });
            if (response.StatusCode == HttpStatusCode.TooManyRequests && attempt < MaxRateLimitedAttempts)
            {
                await Task.Delay(RetryAfter(response.Headers.RetryAfter?.Delta));
                continue;
            }

            return (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<TokenResponse>())!.Token;
        }
    }

    /// <summary>
    /// Opens a socket; a 429 on the upgrade (the gateway's per-IP upgrade rate) is waited out and retried. A bench
    /// that holds thousands of sockets and reads only small frames passes a smaller receive buffer.
    /// </summary>
    public static async Task<BenchSocket> ConnectAsync(Uri server, string path, string token, int receiveBufferBytes = DefaultReceiveBufferBytes)
    {
        var uri = new UriBuilder(new Uri(server, path)) { Scheme = server.Scheme == "https" ? "wss" : "ws", Query = $"access_token={token}" }.Uri;
        for (var attempt = 1; ; attempt++)
        {
            var socket = new ClientWebSocket();
            // Without this the status code and Retry-After of a refused upgrade are thrown away.
            socket.Options.CollectHttpResponseDetails = true;
            try
            {
                await socket.ConnectAsync(uri, CancellationToken.None);
                return new BenchSocket(socket, receiveBufferBytes);
            }
            catch (WebSocketException) when (socket.HttpStatusCode == HttpStatusCode.TooManyRequests && attempt < MaxRateLimitedAttempts)
            {
                var wait = RetryAfter(RetryAfterHeader(socket.HttpResponseHeaders));
                socket.Dispose();
                await Task.Delay(wait);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    public Task SendAsync(object frame) => SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame, JsonSerializerOptions.Web));

    public Task SendAsync(byte[] utf8) => socket.SendAsync(utf8, WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next frame, or null once the socket is closed.</summary>
    public async Task<JsonElement?> ReceiveAsync()
    {
        if (await ReceiveUtf8Async() is not { } utf8)
        {
            return null;
        }

        using var document = JsonDocument.Parse(utf8);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// The next frame's UTF-8 text, or null once the socket is closed. The memory is this socket's buffer: it is valid
    /// until the next receive, so a reader that parses at once allocates nothing per frame.
    /// </summary>
    public async Task<ReadOnlyMemory<byte>?> ReceiveUtf8Async()
    {
        var count = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            try
            {
                result = await socket.ReceiveAsync(_buffer.AsMemory(count), CancellationToken.None);
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

        return _buffer.AsMemory(0, count);
    }

    /// <summary>The next frame of a type, skipping others.</summary>
    public async Task<JsonElement> ReceiveAsync(string type)
    {
        while (await ReceiveAsync() is { } frame)
        {
            if (frame.GetProperty("type").GetString() == type)
            {
                return frame;
            }
        }

        throw new InvalidOperationException($"The socket closed before a \"{type}\" frame.");
    }

    /// <summary>Starts the close handshake; a reader still waiting on this socket ends when the server's close arrives.</summary>
    public async Task CloseOutputAsync()
    {
        if (socket.State == WebSocketState.Open)
        {
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }
            catch (WebSocketException)
            {
                // The server dropped the connection first: there is nothing left to close.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseOutputAsync();
        socket.Dispose();
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static TimeSpan RetryAfter(TimeSpan? header) =>
        header is { } wait && wait > TimeSpan.Zero ? (wait < LongestRetryAfter ? wait : LongestRetryAfter) : TimeSpan.FromSeconds(1);

    private static TimeSpan? RetryAfterHeader(IReadOnlyDictionary<string, IEnumerable<string>>? headers)
    {
        var value = headers?.FirstOrDefault(header => header.Key.Equals("Retry-After", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        return int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : null;
    }
}
