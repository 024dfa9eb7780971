using ChatPlatform.Contracts;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;

namespace ChatPlatform.Delivery.Cursors;

/// <summary>
/// Stores the cursors a relay coalesced from its clients' acks and reads, a flush in one statement. It also takes a
/// lone <see cref="CursorAdvanced"/>: relays of the previous release send those during a rolling upgrade.
/// </summary>
public sealed class CursorsAdvancedConsumer(CursorStore cursors, ILogger<CursorsAdvancedConsumer> logger)
    : IConsumer<CursorsAdvanced>, IConsumer<CursorAdvanced>
{
    public Task Consume(ConsumeContext<CursorsAdvanced> context) =>
        StoreAsync(context.Message.Cursors ?? [], context.CancellationToken);

    public Task Consume(ConsumeContext<CursorAdvanced> context) =>
        StoreAsync([context.Message], context.CancellationToken);

    private async Task StoreAsync(IReadOnlyList<CursorAdvanced?> updates, CancellationToken cancellationToken)
    {
        // The user is the token's subject, which an external issuer may make longer than a column holds; a bad entry
        // left in would fail the statement, and with it every other member's update of the flush.
        var valid = updates.OfType<CursorAdvanced>().Where(IsValid).ToList();
        if (valid.Count < updates.Count)
        {
            logger.LogWarning("{Count} malformed cursor update(s) ignored", updates.Count - valid.Count);
        }

        await cursors.AdvanceAsync(valid, cancellationToken);
    }

    internal static bool IsValid(CursorAdvanced update) =>
        RoomIds.IsValid(update.RoomId) && update.User is { Length: > 0 and <= 64 };
}
