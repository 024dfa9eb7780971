namespace ChatPlatform.Delivery.Storage;

/// <summary>How far one member of a room has received and read. Both only ever move forward.</summary>
public sealed class MemberCursor
{
    public required string RoomId { get; set; }

    public required string UserName { get; set; }

    public long DeliveredSeq { get; set; }

    public long ReadSeq { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
