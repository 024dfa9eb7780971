using ChatPlatform.Contracts;
using ChatPlatform.ServiceDefaults.Resilience;

namespace ChatPlatform.Relay.Subscriptions;

/// <summary>
/// One client's subscription to one room: pushes every stored message exactly once and in seq order, whatever
/// order the broker hands them over in, and keeps each push until the client acknowledges it, resending with
/// exponential backoff. Thread-safe: live messages, gap fills, acks and the resend sweep arrive concurrently.
/// </summary>
public sealed class RoomSubscription(string roomId, long afterSeq, Func<MessageStored, bool> push)
{
    private readonly Lock _gate = new();
    // Arrived ahead of a missing seq, or during the replay: pushed once everything before them was.
    private readonly SortedDictionary<long, MessageStored> _waiting = [];
    private readonly SortedDictionary<long, PendingPush> _unacknowledged = [];
    private bool _replaying = true;
    private long _lastPushed = afterSeq;
    private bool _filling;
    private bool _catchUpPending;

    public string RoomId { get; } = roomId;

    /// <summary>The highest seq pushed; every seq up to it was pushed, in order.</summary>
    public long LastPushed
    {
        get
        {
            lock (_gate)
            {
                return _lastPushed;
            }
        }
    }

    /// <summary>Messages held for this client: waiting behind a gap plus pushed and not yet acknowledged.</summary>
    public int Held
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count + _unacknowledged.Count;
            }
        }
    }

    /// <summary>The seqs missing before the first waiting message (0 when none is waiting): what a gap fill asks for.</summary>
    public long GapSize
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count == 0 ? 0 : First(_waiting).Seq - _lastPushed - 1;
            }
        }
    }

    /// <summary>True while messages wait for a seq that has not arrived.</summary>
    public bool HasGap
    {
        get
        {
            lock (_gate)
            {
                return !_replaying && _waiting.Count > 0;
            }
        }
    }

    /// <summary>
    /// Takes one replayed message of stored history, given in seq order: true if the caller is to push it (waiting for
    /// queue space: the client asked for it), false if it was pushed already; live messages wait until
    /// <see cref="GoLive"/>. One at a time, so an ack that arrives meanwhile counts only up to what was taken.
    /// </summary>
    public bool TakeReplayed(MessageStored message, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (message.Seq <= _lastPushed)
            {
                return false;
            }

            _lastPushed = message.Seq;
            _waiting.Remove(message.Seq);
            _unacknowledged[message.Seq] = new PendingPush(message, now);
            return true;
        }
    }

    /// <summary>Ends the replay: the live messages that arrived meanwhile are pushed. Returns true if a gap remains.</summary>
    public bool GoLive(DateTimeOffset now)
    {
        lock (_gate)
        {
            _replaying = false;
            PushReady(now);
            return _waiting.Count > 0;
        }
    }

    /// <summary>A stored message, live or from a gap fill. Returns true if a gap remains (a seq is missing).</summary>
    public bool Offer(MessageStored message, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (message.Seq > _lastPushed)
            {
                _waiting.TryAdd(message.Seq, message);
            }

            if (_replaying)
            {
                return false;
            }

            PushReady(now);
            return _waiting.Count > 0;
        }
    }

    /// <summary>The client has everything up to <paramref name="seq"/>. Returns the pushes this settles.</summary>
    public IReadOnlyList<PendingPush> Acknowledge(long seq)
    {
        var settled = new List<PendingPush>();
        lock (_gate)
        {
            while (_unacknowledged.Count > 0)
            {
                var (first, pending) = First(_unacknowledged);
                if (first > seq)
                {
                    break;
                }

                _unacknowledged.Remove(first);
                settled.Add(pending);
            }
        }

        return settled;
    }

    /// <summary>Pushes again what is due. Returns how many were resent and whether one ran out of resends.</summary>
    public (int Resent, bool GaveUp) ResendDue(DateTimeOffset now, RelayOptions options)
    {
        var resent = 0;
        lock (_gate)
        {
            // Most subscriptions have nothing out, and enumerating a SortedDictionary allocates even when it is empty:
            // the sweep visits every subscription several times a second.
            if (_unacknowledged.Count == 0)
            {
                return (0, false);
            }

            foreach (var pending in _unacknowledged.Values)
            {
                if (pending.DueAt(options) > now)
                {
                    continue;
                }

                if (pending.Resends >= options.MaxResends)
                {
                    return (resent, true);
                }

                pending.Resends++;
                pending.LastPushedAt = now;
                if (!push(pending.Message))
                {
                    break;
                }

                resent++;
            }
        }

        return (resent, false);
    }

    /// <summary>Pushed messages this client has not acknowledged for <paramref name="after"/> or longer.</summary>
    public IEnumerable<Guid> Undelivered(DateTimeOffset now, TimeSpan after)
    {
        lock (_gate)
        {
            return _unacknowledged.Count == 0
                ? []
                : _unacknowledged.Values.Where(pending => now - pending.FirstPushedAt >= after).Select(pending => pending.Message.Id).ToList();
        }
    }

    /// <summary>
    /// Lets one fill run at a time; the caller releases it with <see cref="EndFill"/>. A catch-up asked for while a fill
    /// runs is not dropped: it is kept for that fill, whose <see cref="EndFill"/> hands it back.
    /// </summary>
    public bool TryBeginFill(bool catchUp = false)
    {
        lock (_gate)
        {
            if (_filling)
            {
                _catchUpPending |= catchUp;
                return false;
            }

            _filling = true;
            return true;
        }
    }

    /// <summary>Ends the fill. True if a catch-up was asked for meanwhile: the caller runs it.</summary>
    public bool EndFill()
    {
        lock (_gate)
        {
            var catchUpPending = _catchUpPending;
            (_filling, _catchUpPending) = (false, false);
            return catchUpPending;
        }
    }

    private void PushReady(DateTimeOffset now)
    {
        while (_waiting.Count > 0)
        {
            var (seq, message) = First(_waiting);
            if (seq <= _lastPushed)
            {
                _waiting.Remove(seq);
                continue;
            }

            if (seq != _lastPushed + 1)
            {
                return;
            }

            _waiting.Remove(seq);
            _lastPushed = seq;
            _unacknowledged[seq] = new PendingPush(message, now);
            if (!push(message))
            {
                return;
            }
        }
    }

    private static (long Seq, T Value) First<T>(SortedDictionary<long, T> items)
    {
        using var enumerator = items.GetEnumerator();
        enumerator.MoveNext();
        return (enumerator.Current.Key, enumerator.Current.Value);
    }
}

/// <summary>A message pushed to a client and not yet acknowledged.</summary>
public sealed class PendingPush(MessageStored message, DateTimeOffset pushedAt)
{
    public MessageStored Message { get; } = message;

    public DateTimeOffset FirstPushedAt { get; } = pushedAt;

    public DateTimeOffset LastPushedAt { get; set; } = pushedAt;

    public int Resends { get; set; }

    /// <summary>When to push again: the ack timeout after the first push, doubling per resend, capped.</summary>
    public DateTimeOffset DueAt(RelayOptions options) =>
        LastPushedAt + Backoff.Exponential(Resends + 1, options.AckTimeout, options.MaxResendInterval);
}
