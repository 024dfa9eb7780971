using ChatPlatform.Contracts;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace ChatPlatform.Delivery.Storage;

public enum StoreOutcome
{
    /// <summary>First time this id was seen: stored with a new seq.</summary>
    Stored,

    /// <summary>The same id from the same sender again: nothing written, the original seq returned.</summary>
    Duplicate,

    /// <summary>The id belongs to another sender's message: rejected.</summary>
    IdConflict,
}

public sealed record StoreResult(StoreOutcome Outcome, StoredMessage Message);

/// <summary>Stores each message exactly once, with the room's next seq, in one transaction.</summary>
public sealed class MessageStore(ChatDbContext db, TimeProvider clock)
{
    public async Task<StoreResult> StoreAsync(MessageSubmitted submitted, CancellationToken cancellationToken)
    {
        if (await FindExistingAsync(submitted, cancellationToken) is { } existing)
        {
            return existing;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var message = new StoredMessage
        {
            Id = submitted.Id,
            RoomId = submitted.RoomId,
            Sender = submitted.From,
            ClientId = submitted.ClientId,
            Text = submitted.Text,
            SentAt = submitted.SentAt,
            AcceptedAt = submitted.AcceptedAt,
            Seq = await NextSeqAsync(submitted.RoomId, cancellationToken),
            StoredAt = clock.GetUtcNow(),
        };
        db.Messages.Add(message);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new StoreResult(StoreOutcome.Stored, message);
        }
        catch (DbUpdateException exception) when (exception.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            // Another consumer stored the same id between our check and our insert. Rolling back
            // also returns the seq we took, so the room keeps no gap.
            await transaction.RollbackAsync(cancellationToken);
            db.ChangeTracker.Clear();
            return await FindExistingAsync(submitted, cancellationToken)
                   ?? throw new InvalidOperationException($"Message {submitted.Id} hit a unique violation but is not stored.", exception);
        }
    }

    private async Task<StoreResult?> FindExistingAsync(MessageSubmitted submitted, CancellationToken cancellationToken)
    {
        var existing = await db.Messages.AsNoTracking().FirstOrDefaultAsync(m => m.Id == submitted.Id, cancellationToken);
        return existing is null ? null
            : new StoreResult(existing.Sender == submitted.From ? StoreOutcome.Duplicate : StoreOutcome.IdConflict, existing);
    }

    /// <summary>Takes the room's next seq. The upsert locks the room's row until commit, so seqs are handed out in commit order.</summary>
    private async Task<long> NextSeqAsync(string roomId, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO room_sequences (room_id, last_seq) VALUES (@room, 1)
            ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + 1
            RETURNING last_seq
            """,
            connection,
            (NpgsqlTransaction)db.Database.CurrentTransaction!.GetDbTransaction());
        command.Parameters.AddWithValue("room", roomId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
