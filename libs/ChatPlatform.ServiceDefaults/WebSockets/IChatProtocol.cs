namespace ChatPlatform.ServiceDefaults.WebSockets;

/// <summary>What a service does with its clients' sockets. Relay and Signaling each implement one.</summary>
public interface IChatProtocol
{
    /// <summary>The socket is open; send the welcome here.</summary>
    ValueTask OnConnectedAsync(WebSocketSession session);

    /// <summary>A well-formed frame (JSON object with a type) other than <c>ping</c>, one at a time per session.</summary>
    ValueTask OnFrameAsync(WebSocketSession session, ClientFrame frame);

    /// <summary>A frame was refused before it reached the protocol (malformed, over the rate, too large): for metrics.</summary>
    void OnRejected(WebSocketSession session, string errorCode)
    {
    }

    /// <summary>The socket is gone; forget the session.</summary>
    ValueTask OnDisconnectedAsync(WebSocketSession session);
}
