namespace ChatPlatform.Contracts;

/// <summary>A member of a room as Signaling sees it: one connection of one user, on one instance.</summary>
public sealed record RoomMember(string RoomId, string ClientId, string User);

/// <summary>
/// A peer joined or left a room on a Signaling instance. Every instance applies these in
/// <paramref name="Sequence"/> order (per instance) to keep its view of every room; other services may react.
/// </summary>
public sealed record PeerPresenceChanged(
    string InstanceId,
    long Sequence,
    string RoomId,
    string ClientId,
    string User,
    bool Joined,
    DateTimeOffset At);

/// <summary>
/// A Signaling instance's heartbeat with its full membership as of <paramref name="Sequence"/>: heals any view
/// that drifted, and its absence for the instance timeout means the instance died (its peers are announced as left).
/// </summary>
public sealed record SignalingInstanceAlive(
    string InstanceId,
    long Sequence,
    IReadOnlyList<RoomMember> Members,
    DateTimeOffset At);

/// <summary>An offer, answer or ICE candidate for a peer connected to another Signaling instance. The payload is already validated.</summary>
public sealed record SignalForwarded(
    string RoomId,
    string FromClientId,
    string ToClientId,
    string Kind,
    string PayloadJson);

/// <summary>A client's report of a WebRTC connection to a peer: connected (with handshake time), failed, closed or fallback.</summary>
public sealed record RtcStateReported(
    string RoomId,
    string ClientId,
    string User,
    string Peer,
    string State,
    double? HandshakeMilliseconds,
    string? Reason,
    DateTimeOffset At);
