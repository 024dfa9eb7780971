using ChatPlatform.Delivery.Storage;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Delivery.History;

public sealed record HistoryMessage(Guid Id, string RoomId, long Seq, string From, string Text, long SentAt, long StoredAt);

public sealed record HistoryPage(string RoomId, IReadOnlyList<HistoryMessage> Messages, long LastSeq);

/// <summary>Where one message stands: its seq, and which other members have it delivered and read.</summary>
public sealed record MessageStatus(
    Guid Id, string RoomId, long Seq, string From, long SentAt, long StoredAt,
    IReadOnlyList<string> DeliveredTo, IReadOnlyList<string> ReadBy);

public static class HistoryEndpoints
{
    public static void MapHistory(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").RequireAuthorization();
        api.MapGet("/rooms/{roomId}/messages", GetPageAsync);
        api.MapGet("/messages/{id:guid}", GetStatusAsync);
    }

    /// <summary>Messages of a room after a seq, in seq order: the source of replay and gap filling.</summary>
    internal static async Task<Results<Ok<HistoryPage>, ProblemHttpResult>> GetPageAsync(
        string roomId, long? after, int? limit, HttpContext context, ChatDbContext db,
        IOptions<DeliveryOptions> options, CancellationToken cancellationToken)
    {
        if (RoomNotGranted(context, roomId) is { } forbidden)
        {
            return forbidden;
        }

        var pageSize = limit ?? options.Value.HistoryPageSize;
        if (pageSize < 1 || pageSize > options.Value.HistoryPageSize || after < 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad paging",
                detail: $"limit must be 1-{options.Value.HistoryPageSize} and after must be ≥ 0.");
        }

        var history = await HistoryRequestedConsumer.ReadAsync(db, roomId, after ?? 0, pageSize, withReceipts: false, cancellationToken);
        return TypedResults.Ok(new HistoryPage(
            roomId,
            history.Messages.Select(m => new HistoryMessage(m.Id, m.RoomId, m.Seq, m.From, m.Text,
                m.SentAt.ToUnixTimeMilliseconds(), m.StoredAt.ToUnixTimeMilliseconds())).ToList(),
            history.LastSeq));
    }

    /// <summary>The status a sender's UI shows: stored (has a seq), delivered to and read by whom.</summary>
    internal static async Task<Results<Ok<MessageStatus>, ProblemHttpResult>> GetStatusAsync(
        Guid id, HttpContext context, ChatDbContext db, CancellationToken cancellationToken)
    {
        var message = await db.Messages.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, cancellationToken);
        // A message of a room the token does not grant is reported as missing, so ids cannot be probed.
        if (message is null || RoomNotGranted(context, message.RoomId) is not null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such message",
                detail: $"No message {id} in the rooms this token grants.");
        }

        var others = await db.Cursors.AsNoTracking()
            .Where(c => c.RoomId == message.RoomId && c.UserName != message.Sender && c.DeliveredSeq >= message.Seq)
            .OrderBy(c => c.UserName)
            .Select(c => new { c.UserName, c.ReadSeq })
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new MessageStatus(
            message.Id, message.RoomId, message.Seq, message.Sender,
            message.SentAt.ToUnixTimeMilliseconds(), message.StoredAt.ToUnixTimeMilliseconds(),
            others.Select(c => c.UserName).ToList(),
            others.Where(c => c.ReadSeq >= message.Seq).Select(c => c.UserName).ToList()));
    }

    private static ProblemHttpResult? RoomNotGranted(HttpContext context, string roomId) =>
        ChatUser.From(context.User) is { } user && user.CanUse(roomId)
            ? null
            : TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Room not granted",
                detail: $"The token does not grant room \"{roomId}\".");
}
