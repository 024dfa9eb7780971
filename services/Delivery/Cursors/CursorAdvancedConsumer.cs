using ChatPlatform.Contracts;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;

namespace ChatPlatform.Delivery.Cursors;

/// <summary>Stores the cursors the relays coalesced from their clients' acks and reads.</summary>
public sealed class CursorAdvancedConsumer(CursorStore cursors) : IConsumer<CursorAdvanced>
{
    public async Task Consume(ConsumeContext<CursorAdvanced> context)
    {
        var update = context.Message;
        if (!RoomIds.IsValid(update.RoomId) || update.User is not { Length: > 0 and <= 64 })
        {
            return;
        }

        await cursors.AdvanceAsync(update, context.CancellationToken);
    }
}
