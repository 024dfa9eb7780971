using ChatPlatform.ServiceDefaults.WebSockets;
using ChatPlatform.Signaling.IceServers;
using ChatPlatform.Signaling.Rooms;

namespace ChatPlatform.Signaling.Connections;

public sealed record WelcomeFrame(string ClientId, string User, IReadOnlyList<IceServer> IceServers) : ServerFrame("welcome");

public sealed record JoinedFrame(string RoomId, IReadOnlyList<Peer> Peers) : ServerFrame("joined");

public sealed record PeerJoinedFrame(string RoomId, Peer Peer) : ServerFrame("peer-joined");

public sealed record PeerLeftFrame(string RoomId, string ClientId) : ServerFrame("peer-left");

/// <summary>An offer or answer, with <paramref name="From"/> set by the server.</summary>
public sealed record DescriptionFrame(string Kind, string From, string RoomId, string Sdp) : ServerFrame(Kind);

/// <summary>The fields of RTCIceCandidateInit; an empty candidate marks the end of candidates.</summary>
public sealed record IceCandidate(string Candidate, string? SdpMid, int? SdpMLineIndex, string? UsernameFragment);

public sealed record IceFrame(string From, string RoomId, IceCandidate Candidate) : ServerFrame("ice");
