using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Relay.Connections;

public sealed record WelcomeFrame(string ClientId, string User) : ServerFrame("welcome");

/// <summary>The broker confirmed the message: it will be stored even if this relay dies now.</summary>
public sealed record AcceptedFrame(Guid Id, string RoomId) : ServerFrame("accepted");
