using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Outbox;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

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

/// <summary>Why Delivery refuses a message: the error codes the sender sees.</summary>
public static class Rejections
{
    public const string IdConflict = ServiceDefaults.WebSockets.ErrorCodes.IdConflict;
    public const string Invalid = ServiceDefaults.WebSockets.ErrorCodes.Invalid;

    public static readonly string[] All = [IdConflict, Invalid];
}

/// <summary>
/// Stores each message exactly once: the message row, the room's next seq and the outbox row that announces it
/// are written by one statement, so the room's row lock is held for that statement and its commit only, never
/// across round trips to this process: that is what lets one room take hundreds of messages a second.
/// </summary>
public sealed class MessageStore(ChatDbContext db, TimeProvider clock)
{
    // The idempotency check, the seq, the message and its outbox row in one atomic statement. If the id is
    // already stored, nothing is written and the existing row is returned; a concurrent insert of the same id
    // fails on the primary key, which rolls the whole statement back (the seq included: no gap) and is retried.
    private const string StoreSql = """
        WITH existing AS (
            SELECT seq, sender, stored_at FROM messages WHERE id = @id
        ), next AS (
            INSERT INTO room_sequences AS sequence (room_id, last_seq)
            SELECT @room, 1 WHERE NOT EXISTS (SELECT 1 FROM existing)
            ON CONFLICT (room_id) DO UPDATE SET last_seq = sequence.last_seq + 1
            RETURNING last_seq
        ), stored AS (
            INSERT INTO messages (id, room_id, seq, sender, client_id, text, sent_at, accepted_at, stored_at)
            SELECT @id, @room, next.last_seq, @sender, @client, @text, @sent_at, @accepted_at, @stored_at FROM next
            RETURNING seq
        ), announced AS (
            INSERT INTO outbox_messages (message_type, payload, created_at)
            SELECT @message_type,
                   -- Stripped: with tracing off (no traceParent) a row is as small as it ever was.
                   jsonb_strip_nulls(jsonb_build_object('id', @id, 'roomId', @room, 'seq', stored.seq, 'from', @sender,
                                                        'text', @text, 'sentAt', @sent_at, 'storedAt', @stored_at,
                                                        'traceParent', @trace_parent)),
                   @stored_at
            FROM stored
            RETURNING 1
        )
        SELECT TRUE AS is_new, seq, @sender AS sender, @stored_at AS stored_at FROM stored
        UNION ALL
        SELECT FALSE, seq, sender, stored_at FROM existing
        """;

    public async Task<StoreResult> StoreAsync(MessageSubmitted submitted, CancellationToken cancellationToken)
    {
        var result = await TryStoreAsync(submitted, cancellationToken)
                     // Lost a race with a concurrent copy of the same message: it is stored now, read it.
                     ?? await TryStoreAsync(submitted, cancellationToken)
                     ?? throw new InvalidOperationException($"Message {submitted.Id} hit a unique violation twice.");
        if (result.Outcome == StoreOutcome.IdConflict)
        {
            await RejectAsync(submitted, Rejections.IdConflict, cancellationToken);
        }

        return result;
    }

    private async Task<StoreResult?> TryStoreAsync(MessageSubmitted submitted, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand(StoreSql, connection);
            command.Parameters.AddWithValue("id", submitted.Id);
            command.Parameters.AddWithValue("room", submitted.RoomId);
            command.Parameters.AddWithValue("sender", submitted.From);
            command.Parameters.AddWithValue("client", submitted.ClientId);
            command.Parameters.AddWithValue("text", submitted.Text);
            command.Parameters.AddWithValue("sent_at", submitted.SentAt.ToUniversalTime());
            command.Parameters.AddWithValue("accepted_at", submitted.AcceptedAt.ToUniversalTime());
            command.Parameters.AddWithValue("stored_at", clock.GetUtcNow());
            command.Parameters.AddWithValue("message_type", OutboxMessage.TypeName<MessageStored>());
            // Typed, because a null alone does not tell PostgreSQL what jsonb_build_object is given.
            command.Parameters.Add(new NpgsqlParameter("trace_parent", NpgsqlDbType.Text) { Value = (object?)submitted.TraceParent ?? DBNull.Value });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new InvalidOperationException($"Storing message {submitted.Id} returned no row.");
            }

            var isNew = reader.GetBoolean(0);
            var sender = reader.GetString(2);
            var message = new StoredMessage
            {
                Id = submitted.Id,
                RoomId = submitted.RoomId,
                Seq = reader.GetInt64(1),
                Sender = sender,
                ClientId = submitted.ClientId,
                Text = submitted.Text,
                SentAt = submitted.SentAt,
                AcceptedAt = submitted.AcceptedAt,
                StoredAt = reader.GetFieldValue<DateTimeOffset>(3),
            };
            var outcome = isNew ? StoreOutcome.Stored
                : sender == submitted.From ? StoreOutcome.Duplicate
                : StoreOutcome.IdConflict;
            return new StoreResult(outcome, message);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return null;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Tells the sender (through the outbox, like every other event) that its message was refused.</summary>
    public async Task RejectAsync(MessageSubmitted submitted, string reason, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        db.Outbox.Add(OutboxMessage.For(
            new MessageRejected(submitted.Id, submitted.RoomId, submitted.From, submitted.ClientId, reason), clock.GetUtcNow()));
        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
    }

    public static MessageStored ToContract(StoredMessage message) =>
        new(message.Id, message.RoomId, message.Seq, message.Sender, message.Text, message.SentAt, message.StoredAt);
}
