using ChatPlatform.Delivery.Storage;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Delivery.History;

public sealed record HistoryMessage(Guid Id, string RoomId, long Seq, string From, string Text, long SentAt, long StoredAt);

public sealed record HistoryPage(string RoomId, IReadOnlyList<HistoryMessage> Messages, long LastSeq);

public static class HistoryEndpoints
{
    public static void MapHistory(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api").RequireAuthorization();
        api.MapGet("/rooms/{roomId}/messages", GetPageAsync);
    }

    /// <summary>Messages of a room after a seq, in seq order: the source of replay and gap filling.</summary>
    internal static async Task<Results<Ok<HistoryPage>, ProblemHttpResult>> GetPageAsync(
        string roomId, long? after, int? limit, HttpContext context, ChatDbContext db,
        IOptions<DeliveryOptions> options, CancellationToken cancellationToken)
    {
        var user = ChatUser.From(context.User);
        if (user is null || !user.CanUse(roomId))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Room not granted",
                detail: $"The token does not grant room \"{roomId}\".");
        }

        var pageSize = limit ?? options.Value.HistoryPageSize;
        if (pageSize < 1 || pageSize > options.Value.HistoryPageSize || after < 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad paging",
                detail: $"limit must be 1-{options.Value.HistoryPageSize} and after must be ≥ 0.");
        }

        var afterSeq = after ?? 0;
        var messages = await db.Messages.AsNoTracking()
            .Where(m => m.RoomId == roomId && m.Seq > afterSeq)
            .OrderBy(m => m.Seq)
            .Take(pageSize)
            .Select(m => new HistoryMessage(m.Id, m.RoomId, m.Seq, m.Sender, m.Text,
                m.SentAt.ToUnixTimeMilliseconds(), m.StoredAt.ToUnixTimeMilliseconds()))
            .ToListAsync(cancellationToken);
        var lastSeq = await db.RoomSequences.AsNoTracking()
            .Where(s => s.RoomId == roomId).Select(s => s.LastSeq).FirstOrDefaultAsync(cancellationToken);
        return TypedResults.Ok(new HistoryPage(roomId, messages, lastSeq));
    }
}
