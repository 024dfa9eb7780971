using System.Threading.Channels;
using ChatPlatform.Contracts;

namespace ChatPlatform.Signaling.Rooms;

/// <summary>A peer as other members of the room see it.</summary>
public sealed record Peer(string ClientId, string User);

/// <summary>A change of membership this instance's local clients must be told about.</summary>
public sealed record PresenceChange(string RoomId, Peer Peer, bool Joined);

/// <summary>
/// Who is in which room, on every Signaling instance. Local joins and leaves are made here first; the
/// other instances' members arrive as <see cref="PeerPresenceChanged"/> events and are healed by their
/// heartbeat snapshots. An instance that stops sending heartbeats is dropped with all its members.
/// Thread-safe: one lock, short critical sections, nothing that waits under it (a local join's joined frame is
/// queued to its session under it, which never waits).
/// </summary>
public sealed class RoomDirectory(string instanceId, TimeProvider clock)
{
    private sealed record Member(Peer Peer, string InstanceId);

    private sealed class InstanceState
    {
        public long MaxSequence;
        public long SnapshotSequence = -1;
        public DateTimeOffset LastSeen;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, Member>> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _localRoomsByClient = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InstanceState> _instances = new(StringComparer.Ordinal);
    // Presence events and snapshots leave in sequence order: they are queued under the lock that numbers them.
    private readonly Channel<object> _outgoing = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private long _sequence;

    /// <summary>Events and snapshots to publish, in order.</summary>
    public ChannelReader<object> Outgoing => _outgoing.Reader;

    /// <summary>This process's identity in presence events: unique per start, so a restarted instance begins a fresh sequence.</summary>
    public string InstanceId { get; } = instanceId;

    /// <summary>
    /// Joins a local client. Returns whether it is new in the room, and the other peers. <paramref name="tellJoined"/>
    /// runs under the lock with the other peers: a remote join applied right after this one then finds the client
    /// a member and queues its peer-joined behind the client's joined, never before it (a client told of a peer
    /// before it is told it joined could take the joined's list as the whole room). It must only queue, not wait.
    /// </summary>
    public (bool Added, IReadOnlyList<Peer> Others) JoinLocal(string roomId, Peer peer, Action<IReadOnlyList<Peer>>? tellJoined = null)
    {
        lock (_gate)
        {
            var members = Room(roomId);
            var others = members.Values.Where(m => m.Peer.ClientId != peer.ClientId).Select(m => m.Peer).ToList();
            tellJoined?.Invoke(others);
            if (members.ContainsKey(peer.ClientId))
            {
                return (false, others);
            }

            members[peer.ClientId] = new Member(peer, InstanceId);
            LocalRooms(peer.ClientId).Add(roomId);
            Publish(roomId, peer, joined: true);
            return (true, others);
        }
    }

    /// <summary>Leaves a local client from one room; null when it was not joined.</summary>
    public Peer? LeaveLocal(string roomId, string clientId)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var members) || !members.Remove(clientId, out var member))
            {
                return null;
            }

            RemoveRoomIfEmpty(roomId, members);
            if (_localRoomsByClient.TryGetValue(clientId, out var rooms))
            {
                rooms.Remove(roomId);
            }

            Publish(roomId, member.Peer, joined: false);
            return member.Peer;
        }
    }

    /// <summary>A local client disconnected: it leaves every room it was in.</summary>
    public IReadOnlyList<PresenceChange> LeaveAllLocal(string clientId)
    {
        lock (_gate)
        {
            if (!_localRoomsByClient.Remove(clientId, out var rooms))
            {
                return [];
            }

            var changes = new List<PresenceChange>();
            foreach (var roomId in rooms)
            {
                if (_rooms.TryGetValue(roomId, out var members) && members.Remove(clientId, out var member))
                {
                    RemoveRoomIfEmpty(roomId, members);
                    Publish(roomId, member.Peer, joined: false);
                    changes.Add(new PresenceChange(roomId, member.Peer, Joined: false));
                }
            }

            return changes;
        }
    }

    public int LocalRoomCount(string clientId)
    {
        lock (_gate)
        {
            return _localRoomsByClient.TryGetValue(clientId, out var rooms) ? rooms.Count : 0;
        }
    }

    public bool IsMember(string roomId, string clientId)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(roomId, out var members) && members.ContainsKey(clientId);
        }
    }

    /// <summary>Where a member is connected: this instance, another one, or null when it is not in the room.</summary>
    public string? InstanceOf(string roomId, string clientId)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(roomId, out var members) && members.TryGetValue(clientId, out var member) ? member.InstanceId : null;
        }
    }

    public IReadOnlyList<string> LocalMembers(string roomId)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(roomId, out var members)
                ? members.Values.Where(m => m.InstanceId == InstanceId).Select(m => m.Peer.ClientId).ToList()
                : [];
        }
    }

    /// <summary>Queues this instance's members as a heartbeat snapshot, after every event it contains.</summary>
    public void PublishSnapshot()
    {
        lock (_gate)
        {
            var members = _rooms.SelectMany(room => room.Value.Values
                    .Where(m => m.InstanceId == InstanceId)
                    .Select(m => new RoomMember(room.Key, m.Peer.ClientId, m.Peer.User)))
                .ToList();
            _outgoing.Writer.TryWrite(new SignalingInstanceAlive(InstanceId, _sequence, members, clock.GetUtcNow()));
        }
    }

    /// <summary>
    /// Queues an offer, answer or candidate for a peer on another instance, in the same ordered stream as this
    /// instance's presence events: the target's instance then always learns of the sender's join before its
    /// first signal. False when the instance is shutting down.
    /// </summary>
    public bool Forward(SignalForwarded signal)
    {
        lock (_gate)
        {
            return _outgoing.Writer.TryWrite(signal);
        }
    }

    /// <summary>
    /// Queues this instance's last word on shutdown: no members, with a sequence no later event can pass,
    /// so the others drop its peers at once instead of after the instance timeout.
    /// </summary>
    public void PublishFarewell()
    {
        lock (_gate)
        {
            _outgoing.Writer.TryWrite(new SignalingInstanceAlive(InstanceId, long.MaxValue, [], clock.GetUtcNow()));
            _outgoing.Writer.TryComplete();
        }
    }

    /// <summary>Applies another instance's join or leave. Returns the change to tell local members, or null.</summary>
    public PresenceChange? Apply(PeerPresenceChanged change)
    {
        if (change.InstanceId == InstanceId)
        {
            return null;
        }

        lock (_gate)
        {
            var state = Instance(change.InstanceId);
            state.LastSeen = clock.GetUtcNow();
            // A snapshot newer than this event already contains its effect.
            if (change.Sequence <= state.SnapshotSequence)
            {
                return null;
            }

            state.MaxSequence = Math.Max(state.MaxSequence, change.Sequence);
            var peer = new Peer(change.ClientId, change.User);
            if (change.Joined)
            {
                return Room(change.RoomId).TryAdd(change.ClientId, new Member(peer, change.InstanceId))
                    ? new PresenceChange(change.RoomId, peer, Joined: true)
                    : null;
            }

            if (_rooms.TryGetValue(change.RoomId, out var members) && members.Remove(change.ClientId))
            {
                RemoveRoomIfEmpty(change.RoomId, members);
                return new PresenceChange(change.RoomId, peer, Joined: false);
            }

            return null;
        }
    }

    /// <summary>
    /// Replaces another instance's members with its heartbeat snapshot (unless events newer than it were seen).
    /// Also says whether that instance was unknown until now.
    /// </summary>
    public (IReadOnlyList<PresenceChange> Changes, bool Newcomer) Apply(SignalingInstanceAlive alive)
    {
        if (alive.InstanceId == InstanceId)
        {
            return ([], false);
        }

        lock (_gate)
        {
            var newcomer = !_instances.ContainsKey(alive.InstanceId);
            var state = Instance(alive.InstanceId);
            state.LastSeen = clock.GetUtcNow();
            if (alive.Sequence < state.MaxSequence)
            {
                return ([], newcomer);
            }

            state.SnapshotSequence = alive.Sequence;
            state.MaxSequence = alive.Sequence;
            var wanted = alive.Members.ToHashSet();
            var changes = RemoveMembersOf(alive.InstanceId, keep: member => wanted.Contains(member));
            foreach (var member in wanted)
            {
                var peer = new Peer(member.ClientId, member.User);
                if (Room(member.RoomId).TryAdd(member.ClientId, new Member(peer, alive.InstanceId)))
                {
                    changes.Add(new PresenceChange(member.RoomId, peer, Joined: true));
                }
            }

            return (changes, newcomer);
        }
    }

    /// <summary>Drops every instance not heard from within <paramref name="timeout"/>, with its members.</summary>
    public IReadOnlyList<PresenceChange> ExpireInstances(TimeSpan timeout)
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            var changes = new List<PresenceChange>();
            foreach (var (id, state) in _instances.Where(entry => now - entry.Value.LastSeen > timeout).ToList())
            {
                _instances.Remove(id);
                changes.AddRange(RemoveMembersOf(id, keep: _ => false));
            }

            return changes;
        }
    }

    private List<PresenceChange> RemoveMembersOf(string instance, Func<RoomMember, bool> keep)
    {
        var changes = new List<PresenceChange>();
        foreach (var (roomId, members) in _rooms.ToList())
        {
            foreach (var member in members.Values.Where(m => m.InstanceId == instance).ToList())
            {
                if (!keep(new RoomMember(roomId, member.Peer.ClientId, member.Peer.User)))
                {
                    members.Remove(member.Peer.ClientId);
                    changes.Add(new PresenceChange(roomId, member.Peer, Joined: false));
                }
            }

            RemoveRoomIfEmpty(roomId, members);
        }

        return changes;
    }

    private void Publish(string roomId, Peer peer, bool joined) =>
        _outgoing.Writer.TryWrite(new PeerPresenceChanged(InstanceId, ++_sequence, roomId, peer.ClientId, peer.User, joined, clock.GetUtcNow()));

    private Dictionary<string, Member> Room(string roomId)
    {
        if (!_rooms.TryGetValue(roomId, out var members))
        {
            members = new Dictionary<string, Member>(StringComparer.Ordinal);
            _rooms[roomId] = members;
        }

        return members;
    }

    private HashSet<string> LocalRooms(string clientId)
    {
        if (!_localRoomsByClient.TryGetValue(clientId, out var rooms))
        {
            rooms = new HashSet<string>(StringComparer.Ordinal);
            _localRoomsByClient[clientId] = rooms;
        }

        return rooms;
    }

    private InstanceState Instance(string id)
    {
        if (!_instances.TryGetValue(id, out var state))
        {
            state = new InstanceState();
            _instances[id] = state;
        }

        return state;
    }

    private void RemoveRoomIfEmpty(string roomId, Dictionary<string, Member> members)
    {
        if (members.Count == 0)
        {
            _rooms.Remove(roomId);
        }
    }
}
