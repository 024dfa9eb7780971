using ChatPlatform.ServiceDefaults.WebSockets;
using ChatPlatform.Signaling.IceServers;

namespace ChatPlatform.Signaling.Connections;

public sealed record WelcomeFrame(string ClientId, string User, IReadOnlyList<IceServer> IceServers) : ServerFrame("welcome");

/// <summary>The signaling protocol: rooms, presence and WebRTC negotiation between the peers of a room.</summary>
public sealed class SignalingProtocol(IceServerProvider iceServers) : IChatProtocol
{
    public ValueTask OnConnectedAsync(WebSocketSession session)
    {
        session.Send(new WelcomeFrame(session.ClientId, session.User.Name, iceServers.For(session.User.Name)));
        return ValueTask.CompletedTask;
    }

    public ValueTask OnFrameAsync(WebSocketSession session, ClientFrame frame)
    {
        session.Send(new ErrorFrame(ErrorCodes.Invalid, $"Unknown frame type \"{frame.Type}\".", frame.Type));
        return ValueTask.CompletedTask;
    }

    public ValueTask OnDisconnectedAsync(WebSocketSession session) => ValueTask.CompletedTask;
}
