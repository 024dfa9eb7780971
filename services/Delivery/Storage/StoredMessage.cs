namespace ChatPlatform.Delivery.Storage;

/// <summary>A chat message as stored: once per id, with a per-room sequence number without gaps.</summary>
public sealed class StoredMessage
{
    public Guid Id { get; set; }

    public required string RoomId { get; set; }

    public long Seq { get; set; }

    public required string Sender { get; set; }

    public required string ClientId { get; set; }

    public required string Text { get; set; }

    public DateTimeOffset SentAt { get; set; }

    public DateTimeOffset AcceptedAt { get; set; }

    public DateTimeOffset StoredAt { get; set; }
}

/// <summary>The last seq handed out in a room; its row lock is what keeps a room's seqs gapless and ordered.</summary>
public sealed class RoomSequence
{
    public required string RoomId { get; set; }

    public long LastSeq { get; set; }
}
