namespace ChatPlatform.Contracts;

/// <summary>
/// A chat message a Relay took from a client and handed to the broker. Delivery stores it exactly once.
/// <paramref name="Id"/> is made by the sending client and is the idempotency key on every hop;
/// <paramref name="From"/> is the authenticated user, set by the server, never by the client.
/// <paramref name="TraceParent"/> is the W3C traceparent of the relay's span for this message (null when tracing is
/// off): MassTransit carries one trace context per broker message, and a batch carries many chat messages.
/// </summary>
public sealed record MessageSubmitted(
    Guid Id,
    string RoomId,
    string From,
    string ClientId,
    string Text,
    DateTimeOffset SentAt,
    DateTimeOffset AcceptedAt,
    string? TraceParent = null);

/// <summary>
/// Submitted messages a Relay publishes together: the sends that arrived while its previous publish waited for the
/// broker's confirm. One broker message for many keeps the broker's and Delivery's per-message cost off the hot
/// path. In the order the relay took them.
/// </summary>
public sealed record MessagesSubmitted(IReadOnlyList<MessageSubmitted> Messages);

/// <summary>
/// A message Delivery has stored with its per-room sequence number. Every Relay instance hears it.
/// <paramref name="TraceParent"/> is the W3C traceparent of Delivery's span that stored it, so the push joins the
/// message's trace (null when tracing is off, and in history, which is read back rather than announced).
/// </summary>
public sealed record MessageStored(
    Guid Id,
    string RoomId,
    long Seq,
    string From,
    string Text,
    DateTimeOffset SentAt,
    DateTimeOffset StoredAt,
    string? TraceParent = null);

/// <summary>
/// Stored messages published together: the outbox dispatcher sends each round's stored messages as one broker
/// message, so a burst costs every Relay instance one delivery instead of one per message. In seq order per room.
/// </summary>
public sealed record MessagesStored(IReadOnlyList<MessageStored> Messages);

/// <summary>
/// Delivery refused a submitted message (e.g. <c>id-conflict</c>: the id belongs to another sender's message).
/// The Relay holding <paramref name="ClientId"/> tells the sender.
/// </summary>
public sealed record MessageRejected(Guid Id, string RoomId, string From, string ClientId, string Reason);

/// <summary>
/// A member's cumulative cursors in a room: everything up to <paramref name="Delivered"/> reached one of its
/// devices, everything up to <paramref name="Read"/> was shown. Zero means "no news". Relays coalesce acks into these
/// and send a flush's worth together, as <see cref="CursorsAdvanced"/>.
/// </summary>
public sealed record CursorAdvanced(string RoomId, string User, long Delivered, long Read);

/// <summary>
/// A relay's cursor updates of one flush, as one broker message: each member's update alone would cost the broker a
/// quorum write and Delivery a commit, for a few bytes.
/// </summary>
public sealed record CursorsAdvanced(IReadOnlyList<CursorAdvanced> Cursors);

/// <summary>A member's stored cursors after they moved: pushed to the room as a <c>receipt</c>.</summary>
public sealed record ReceiptUpdated(string RoomId, string User, long Delivered, long Read);

/// <summary>Receipts published together, one broker message per outbox round (like <see cref="MessagesStored"/>).</summary>
public sealed record ReceiptsUpdated(IReadOnlyList<ReceiptUpdated> Receipts);

/// <summary>A Relay asks Delivery for a room's stored messages after a seq (replay on subscribe, gap filling).</summary>
public sealed record HistoryRequested(string RoomId, long AfterSeq, int Limit);

/// <summary>
/// Delivery's answer to <see cref="HistoryRequested"/>: up to Limit messages in seq order, the room's last seq,
/// and every member's cursors, so that a resuming client also learns the receipts it missed.
/// </summary>
public sealed record RoomHistory(
    string RoomId,
    IReadOnlyList<MessageStored> Messages,
    long LastSeq,
    IReadOnlyList<ReceiptUpdated> Receipts);
