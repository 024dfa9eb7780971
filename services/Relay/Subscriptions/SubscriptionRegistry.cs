using System.Collections.Concurrent;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Relay.Subscriptions;

/// <summary>A subscription and the connection it pushes to.</summary>
public sealed record Subscriber(WebSocketSession Session, RoomSubscription Subscription);

/// <summary>Which of this instance's connections are subscribed to which rooms: room events fan out through it.</summary>
public sealed class SubscriptionRegistry
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Subscriber>> _byRoom = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Subscriber>> _bySession = new(StringComparer.Ordinal);

    // Adds and removals take this lock, so a room's member set is never dropped as empty while a subscriber is being
    // added to it; fan-out reads without it.
    private readonly Lock _changes = new();

    /// <summary>Adds or replaces the session's subscription to the subscription's room.</summary>
    public void Add(Subscriber subscriber)
    {
        var room = subscriber.Subscription.RoomId;
        var clientId = subscriber.Session.ClientId;
        lock (_changes)
        {
            _bySession.GetOrAdd(clientId, _ => new(StringComparer.Ordinal))[room] = subscriber;
            _byRoom.GetOrAdd(room, _ => new(StringComparer.Ordinal))[clientId] = subscriber;
        }
    }

    /// <summary>Removes the session's subscription to a room (only <paramref name="expected"/>, when given).</summary>
    public bool Remove(WebSocketSession session, string roomId, RoomSubscription? expected = null)
    {
        lock (_changes)
        {
            return RemoveLocked(session, roomId, expected);
        }
    }

    private bool RemoveLocked(WebSocketSession session, string roomId, RoomSubscription? expected)
    {
        if (!_bySession.TryGetValue(session.ClientId, out var rooms) || !rooms.TryGetValue(roomId, out var current)
            || (expected is not null && !ReferenceEquals(current.Subscription, expected)))
        {
            return false;
        }

        rooms.TryRemove(new(roomId, current));
        if (rooms.IsEmpty)
        {
            _bySession.TryRemove(new(session.ClientId, rooms));
        }

        RemoveMember(roomId, session.ClientId);
        return true;
    }

    /// <summary>Takes a member out of a room, and the room out of the registry once nobody here is in it.</summary>
    private void RemoveMember(string roomId, string clientId)
    {
        if (_byRoom.TryGetValue(roomId, out var members))
        {
            members.TryRemove(clientId, out _);
            if (members.IsEmpty)
            {
                _byRoom.TryRemove(new(roomId, members));
            }
        }
    }

    public void RemoveAll(WebSocketSession session)
    {
        lock (_changes)
        {
            if (!_bySession.TryRemove(session.ClientId, out var rooms))
            {
                return;
            }

            foreach (var roomId in rooms.Keys)
            {
                RemoveMember(roomId, session.ClientId);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> only while <paramref name="subscriber"/> is still the session's subscription to
    /// its room, and keeps a newer subscribe (or an unsubscribe) of that room waiting until it is done: what the
    /// action sends is never answered for a subscription that was already replaced. The action must not block.
    /// </summary>
    public bool WhileCurrent(Subscriber subscriber, Action action)
    {
        lock (_changes)
        {
            if (!IsCurrent(subscriber))
            {
                return false;
            }

            action();
            return true;
        }
    }

    /// <summary>Whether <paramref name="subscriber"/> is still the session's subscription to its room (not unsubscribed, not replaced).</summary>
    public bool IsCurrent(Subscriber subscriber) =>
        Find(subscriber.Session, subscriber.Subscription.RoomId) == subscriber.Subscription;

    /// <summary>Rooms with at least one subscriber on this instance.</summary>
    public int RoomCount => _byRoom.Count;

    public RoomSubscription? Find(WebSocketSession session, string roomId) =>
        _bySession.TryGetValue(session.ClientId, out var rooms) && rooms.TryGetValue(roomId, out var subscriber)
            ? subscriber.Subscription
            : null;

    public int CountFor(WebSocketSession session) =>
        _bySession.TryGetValue(session.ClientId, out var rooms) ? rooms.Count : 0;

    public IEnumerable<Subscriber> InRoom(string roomId) =>
        _byRoom.TryGetValue(roomId, out var members) ? members.Values : [];

    public IEnumerable<Subscriber> All => _bySession.Values.SelectMany(rooms => rooms.Values);

    /// <summary>Distinct messages some member has not acknowledged for longer than <paramref name="after"/>.</summary>
    public int CountUndelivered(DateTimeOffset now, TimeSpan after) =>
        All.SelectMany(subscriber => subscriber.Subscription.Undelivered(now, after)).Distinct().Count();
}
