using System.Collections.Concurrent;
using System.Collections.Immutable;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Relay.Subscriptions;

/// <summary>A subscription and the connection it pushes to.</summary>
public sealed record Subscriber(WebSocketSession Session, RoomSubscription Subscription);

/// <summary>Which of this instance's connections are subscribed to which rooms: room events fan out through it.</summary>
public sealed class SubscriptionRegistry
{
    // Immutable values, replaced whole under _changes: fan-out and the resend sweep read them without a lock or a
    // copy, and an idle connection costs a small node in each map instead of two concurrent dictionaries of its own.
    // A room's members are an immutable dictionary, so a join or a leave costs O(log n) however large the room;
    // a session's rooms (at most Relay:MaxSubscriptions) are an array.
    private static readonly ImmutableDictionary<string, Subscriber> NoMembers = ImmutableDictionary.Create<string, Subscriber>(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ImmutableDictionary<string, Subscriber>> _byRoom = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Subscriber[]> _bySession = new(StringComparer.Ordinal);

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
            _bySession[clientId] = Put(_bySession.GetValueOrDefault(clientId), subscriber, other => other.Subscription.RoomId == room);
            _byRoom[room] = _byRoom.GetValueOrDefault(room, NoMembers).SetItem(clientId, subscriber);
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
        if (FindSubscriber(session, roomId) is not { } current
            || (expected is not null && !ReferenceEquals(current.Subscription, expected)))
        {
            return false;
        }

        TakeRoom(session.ClientId, roomId);
        RemoveMember(roomId, session.ClientId);
        return true;
    }

    public void RemoveAll(WebSocketSession session)
    {
        lock (_changes)
        {
            if (!_bySession.TryRemove(session.ClientId, out var subscriptions))
            {
                return;
            }

            foreach (var subscriber in subscriptions)
            {
                RemoveMember(subscriber.Subscription.RoomId, session.ClientId);
            }
        }
    }

    /// <summary>A copy of <paramref name="items"/> with <paramref name="subscriber"/> in place of the one that matches, or added.</summary>
    private static Subscriber[] Put(Subscriber[]? items, Subscriber subscriber, Predicate<Subscriber> matches)
    {
        if (items is null)
        {
            return [subscriber];
        }

        var index = Array.FindIndex(items, matches);
        var copy = index < 0 ? new Subscriber[items.Length + 1] : new Subscriber[items.Length];
        items.CopyTo(copy, 0);
        copy[index < 0 ? items.Length : index] = subscriber;
        return copy;
    }

    /// <summary>Takes the room out of the session's subscriptions, and the session out of the map once it has none.</summary>
    private void TakeRoom(string clientId, string roomId)
    {
        if (!_bySession.TryGetValue(clientId, out var subscriptions))
        {
            return;
        }

        var rest = Array.FindAll(subscriptions, subscriber => subscriber.Subscription.RoomId != roomId);
        if (rest.Length == 0)
        {
            _bySession.TryRemove(clientId, out _);
        }
        else
        {
            _bySession[clientId] = rest;
        }
    }

    /// <summary>Takes a member out of a room, and the room out of the registry once nobody here is in it.</summary>
    private void RemoveMember(string roomId, string clientId)
    {
        if (!_byRoom.TryGetValue(roomId, out var members))
        {
            return;
        }

        var rest = members.Remove(clientId);
        if (rest.IsEmpty)
        {
            _byRoom.TryRemove(roomId, out _);
        }
        else
        {
            _byRoom[roomId] = rest;
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

    public RoomSubscription? Find(WebSocketSession session, string roomId) => FindSubscriber(session, roomId)?.Subscription;

    private Subscriber? FindSubscriber(WebSocketSession session, string roomId) =>
        _bySession.TryGetValue(session.ClientId, out var subscriptions)
            ? Array.Find(subscriptions, subscriber => subscriber.Subscription.RoomId == roomId)
            : null;

    public int CountFor(WebSocketSession session) =>
        _bySession.TryGetValue(session.ClientId, out var subscriptions) ? subscriptions.Length : 0;

    public IEnumerable<Subscriber> InRoom(string roomId) => _byRoom.TryGetValue(roomId, out var members) ? members.Values : [];

    /// <summary>Every subscription on this instance, read as it changes (no copy, no lock).</summary>
    public IEnumerable<Subscriber> All
    {
        get
        {
            foreach (var (_, subscriptions) in _bySession)
            {
                foreach (var subscriber in subscriptions)
                {
                    yield return subscriber;
                }
            }
        }
    }

    /// <summary>Distinct messages some member has not acknowledged for longer than <paramref name="after"/>.</summary>
    public int CountUndelivered(DateTimeOffset now, TimeSpan after) =>
        All.SelectMany(subscriber => subscriber.Subscription.Undelivered(now, after)).Distinct().Count();
}
