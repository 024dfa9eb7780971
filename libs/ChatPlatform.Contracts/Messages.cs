namespace ChatPlatform.Contracts;

/// <summary>
/// A chat message a Relay took from a client and handed to the broker. Delivery stores it exactly once.
/// <paramref name="Id"/> is made by the sending client and is the idempotency key on every hop;
/// <paramref name="From"/> is the authenticated user, set by the server, never by the client.
/// </summary>
public sealed record MessageSubmitted(
    Guid Id,
    string RoomId,
    string From,
    string ClientId,
    string Text,
    DateTimeOffset SentAt,
    DateTimeOffset AcceptedAt);

/// <summary>A message Delivery has stored with its per-room sequence number.</summary>
public sealed record MessageStored(
    Guid Id,
    string RoomId,
    long Seq,
    string From,
    string Text,
    DateTimeOffset SentAt,
    DateTimeOffset StoredAt);
