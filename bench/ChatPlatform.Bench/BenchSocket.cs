using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace ChatPlatform.Bench;

/// <summary>A protocol client for the bench: JSON frames over one WebSocket, tokens from the gateway's dev issuer.</summary>
internal sealed class BenchSocket(ClientWebSocket socket) : IAsyncDisposable
{
    private sealed record TokenResponse(string Token);

    private readonly byte[] _buffer = new byte[64 * 1024];

    public WebSocketState State => socket.State;

    public static async Task<string> TokenAsync(Uri gateway, string user, string[] rooms)
    {
        using var http = new HttpClient { BaseAddress = gateway };
        var response = await http.PostAsJsonAsync("/auth/token", new { user, rooms });
        return (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<TokenResponse>())!.Token;
    }

    public static async Task<BenchSocket> ConnectAsync(Uri server, string path, string token)
    {
        var uri = new UriBuilder(new Uri(server, path)) { Scheme = server.Scheme == "https" ? "wss" : "ws", Query = $"access_token={token}" }.Uri;
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(uri, CancellationToken.None);
        return new BenchSocket(socket);
    }

    public Task SendAsync(object frame) => SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame, JsonSerializerOptions.Web));

    public Task SendAsync(byte[] utf8) => socket.SendAsync(utf8, WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next frame, or null once the socket is closed.</summary>
    public async Task<JsonElement?> ReceiveAsync()
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

        using var document = JsonDocument.Parse(_buffer.AsMemory(0, count));
        return document.RootElement.Clone();
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

    public async ValueTask DisposeAsync()
    {
        if (socket.State == WebSocketState.Open)
        {
            // Output only: a reader may still be waiting on this socket, and it ends when the server's close arrives.
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        socket.Dispose();
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
