using ChatPlatform.Contracts;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;

namespace ChatPlatform.Delivery.Cursors;

/// <summary>Stores the cursors a relay coalesced from its clients' acks and reads, a flush in one statement.</summary>
public sealed class CursorsAdvancedConsumer(CursorStore cursors, ILogger<CursorsAdvancedConsumer> logger) : IConsumer<CursorsAdvanced>
{
    public async Task Consume(ConsumeContext<CursorsAdvanced> context)
    {
        // The relays check rooms and users first; this only guards against a publisher that bypassed them.
        var valid = context.Message.Cursors.Where(IsValid).ToList();
        if (valid.Count < context.Message.Cursors.Count)
        {
            logger.LogWarning("{Count} malformed cursor update(s) ignored", context.Message.Cursors.Count - valid.Count);
        }

        await cursors.AdvanceAsync(valid, context.CancellationToken);
    }

    internal static bool IsValid(CursorAdvanced update) =>
        RoomIds.IsValid(update.RoomId) && update.User is { Length: > 0 and <= 64 };
}
