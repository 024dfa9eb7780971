using ChatPlatform.ServiceDefaults.WebSockets;
using ChatPlatform.Signaling.Connections;

namespace ChatPlatform.Signaling.Rooms;

/// <summary>Tells this instance's members of a room that a peer joined or left.</summary>
public sealed class RoomNotifier(RoomDirectory directory, ConnectionRegistry connections)
{
    public void Tell(PresenceChange change)
    {
        ServerFrame frame = change.Joined
            ? new PeerJoinedFrame(change.RoomId, change.Peer)
            : new PeerLeftFrame(change.RoomId, change.Peer.ClientId);
        foreach (var clientId in directory.LocalMembers(change.RoomId))
        {
            if (clientId != change.Peer.ClientId && connections.TryGet(clientId, out var session))
            {
                session!.Send(frame);
            }
        }
    }

    public void Tell(IEnumerable<PresenceChange> changes)
    {
        foreach (var change in changes)
        {
            Tell(change);
        }
    }

    /// <summary>Delivers an offer, answer or ICE frame to a client of this instance; false when it is not here.</summary>
    public bool Deliver(string clientId, ServerFrame frame) =>
        connections.TryGet(clientId, out var session) && session!.Send(frame);
}
