using ChatPlatform.Contracts;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Relay.Connections;

/// <summary>
/// The first frame on a relay socket. It carries the connection's frame budget, so a client flushing a long outbox
/// paces itself under it instead of having frames refused.
/// </summary>
public sealed record WelcomeFrame(string ClientId, string User, FrameLimits Limits) : ServerFrame("welcome");

/// <summary>Frames a client may send at once, then per second, before they are refused as rate-limited.</summary>
public sealed record FrameLimits(int FrameBurst, int FramesPerSecond);

/// <summary>The broker confirmed the message: it will be stored even if this relay dies now.</summary>
public sealed record AcceptedFrame(Guid Id, string RoomId) : ServerFrame("accepted");

/// <summary>The replay is over: the client has every message up to <paramref name="LastSeq"/>; live ones follow.</summary>
public sealed record SubscribedFrame(string RoomId, long LastSeq) : ServerFrame("subscribed");

public sealed record UnsubscribedFrame(string RoomId) : ServerFrame("unsubscribed");

/// <summary>A stored message. The sender gets its own copy too: that is its "stored" confirmation.</summary>
public sealed record MessageFrame(Guid Id, string RoomId, string From, string Text, long SentAt, long Seq, long StoredAt)
    : ServerFrame("message")
{
    public static MessageFrame Of(MessageStored message) =>
        new(message.Id, message.RoomId, message.From, message.Text,
            message.SentAt.ToUnixTimeMilliseconds(), message.Seq, message.StoredAt.ToUnixTimeMilliseconds());
}

/// <summary>A member's cursors in the room: everything up to Delivered reached them, up to Read was shown.</summary>
public sealed record ReceiptFrame(string RoomId, string User, long Delivered, long Read) : ServerFrame("receipt")
{
    public static ReceiptFrame From(ReceiptUpdated receipt) => new(receipt.RoomId, receipt.User, receipt.Delivered, receipt.Read);
}
