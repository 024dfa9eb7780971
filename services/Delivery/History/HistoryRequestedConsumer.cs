using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Delivery.History;

/// <summary>Answers the relays' replay and gap-fill requests from storage.</summary>
public sealed class HistoryRequestedConsumer(ChatDbContext db, IOptions<DeliveryOptions> options, ILogger<HistoryRequestedConsumer> logger)
    : IConsumer<HistoryRequested>
{
    public async Task Consume(ConsumeContext<HistoryRequested> context)
    {
        var request = context.Message;
        var limit = Math.Clamp(request.Limit, 1, options.Value.HistoryPageSize);
        var history = await ReadAsync(db, request.RoomId, Math.Max(0, request.AfterSeq), limit, withReceipts: true, context.CancellationToken);
        // RespondAsync would wait for the confirm with the consume's own token, which only a shutdown cancels.
        var requester = await context.GetResponseEndpoint<RoomHistory>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(options.Value.HistoryResponseTimeout);
        try
        {
            await requester.Send(history, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // The relay that asked has given up by now. Retrying would read storage again for nobody, and a fault would be
            // one more send to wait on: the request is done with.
            logger.LogWarning("The answer to a history request for {RoomId} was not confirmed within {Timeout}; dropped",
                request.RoomId, options.Value.HistoryResponseTimeout);
        }
    }

    /// <summary>
    /// A page of the room's messages. The members' receipts are read only for the last page of a relay's replay
    /// (fewer messages than asked for), the one after which it sends them to its client; other pages, gap fills that
    /// got what they asked for, and the HTTP history do without that query.
    /// </summary>
    internal static async Task<RoomHistory> ReadAsync(
        ChatDbContext db, string roomId, long afterSeq, int limit, bool withReceipts, CancellationToken cancellationToken)
    {
        var messages = await db.Messages.AsNoTracking()
            .Where(m => m.RoomId == roomId && m.Seq > afterSeq)
            .OrderBy(m => m.Seq)
            .Take(limit)
            .ToListAsync(cancellationToken);
        var lastSeq = await db.RoomSequences.AsNoTracking()
            .Where(s => s.RoomId == roomId).Select(s => s.LastSeq).FirstOrDefaultAsync(cancellationToken);
        var receipts = withReceipts && messages.Count < limit
            ? await db.Cursors.AsNoTracking()
                .Where(c => c.RoomId == roomId)
                .OrderBy(c => c.UserName)
                .Select(c => new ReceiptUpdated(c.RoomId, c.UserName, c.DeliveredSeq, c.ReadSeq))
                .ToListAsync(cancellationToken)
            : [];
        return new RoomHistory(roomId, messages.Select(MessageStore.ToContract).ToList(), lastSeq, receipts);
    }
}
