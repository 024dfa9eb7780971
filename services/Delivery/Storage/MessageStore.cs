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
/// Stores each message exactly once: the message rows, their rooms' next seqs and the outbox rows that announce them
/// are written by one statement per batch, so a room's row lock is held for that statement and its commit only,
/// never across round trips to this process, and a batch of a hundred messages costs one round trip and one commit.
/// </summary>
public sealed class MessageStore(ChatDbContext db, OutboxSignal outbox, TimeProvider clock)
{
    // The idempotency check, the seqs, the messages and their outbox rows in one atomic statement. Ids already
    // stored are not written again; their existing rows are returned. Each room's seq moves once, by the number of
    // its new messages, which are numbered in the order the batch holds them. Rooms are locked in room id order, so
    // two instances storing batches with the same rooms wait for each other instead of deadlocking. A concurrent
    // insert of the same id fails on the primary key, which rolls the whole statement back (seqs included: no gap),
    // and the batch is tried again.
    private static readonly string StoredType = OutboxMessage.TypeName<MessageStored>();

    private const string StoreSql = """
        WITH submitted AS (
            SELECT * FROM unnest(@ids, @rooms, @senders, @clients, @texts, @sent_ats, @accepted_ats, @trace_parents)
                WITH ORDINALITY AS input(id, room_id, sender, client_id, text, sent_at, accepted_at, trace_parent, position)
        ), first_copies AS (
            -- A client's resend can land in the same batch as its first try: the first copy is the one stored.
            SELECT DISTINCT ON (id) * FROM submitted ORDER BY id, position
        ), existing AS (
            SELECT message.id, message.seq, message.sender, message.stored_at
            FROM messages AS message JOIN first_copies USING (id)
        ), fresh AS (
            SELECT * FROM first_copies WHERE id NOT IN (SELECT id FROM existing)
        ), taken AS (
            SELECT room_id, count(*) AS count FROM fresh GROUP BY room_id
        ), sequences AS (
            INSERT INTO room_sequences AS sequence (room_id, last_seq)
            SELECT room_id, count FROM taken ORDER BY room_id
            ON CONFLICT (room_id) DO UPDATE SET last_seq = sequence.last_seq + excluded.last_seq
            RETURNING room_id, last_seq
        ), numbered AS (
            SELECT fresh.*, sequences.last_seq - taken.count
                            + row_number() OVER (PARTITION BY fresh.room_id ORDER BY fresh.position) AS seq
            FROM fresh JOIN taken USING (room_id) JOIN sequences USING (room_id)
        ), stored AS (
            INSERT INTO messages (id, room_id, seq, sender, client_id, text, sent_at, accepted_at, stored_at)
            SELECT id, room_id, seq, sender, client_id, text, sent_at, accepted_at, @stored_at FROM numbered
            RETURNING 1
        ), announced AS (
            INSERT INTO outbox_messages (message_type, payload, created_at)
            SELECT @message_type,
                   -- Stripped: with tracing off (no traceParent) a row is as small as it ever was.
                   jsonb_strip_nulls(jsonb_build_object('id', id, 'roomId', room_id, 'seq', seq, 'from', sender,
                                                        'text', text, 'sentAt', sent_at, 'storedAt', @stored_at,
                                                        'traceParent', trace_parent)),
                   @stored_at
            FROM numbered ORDER BY room_id, seq
            RETURNING id, payload
        )
        SELECT id, TRUE AS is_new, seq, sender, @stored_at AS stored_at, NULL::bigint AS outbox_id, NULL::text AS payload
        FROM numbered
        UNION ALL
        SELECT id, FALSE, seq, sender, stored_at, NULL, NULL FROM existing
        UNION ALL
        -- The rows for the dispatcher, which publishes them the moment this statement (and its commit) returns.
        SELECT NULL, NULL, NULL, NULL, NULL, id, payload::text FROM announced
        """;

    public async Task<StoreResult> StoreAsync(MessageSubmitted submitted, CancellationToken cancellationToken) =>
        (await StoreAsync([submitted], cancellationToken))[0];

    /// <summary>Stores a batch in one statement; the results are in the batch's order.</summary>
    public async Task<IReadOnlyList<StoreResult>> StoreAsync(IReadOnlyList<MessageSubmitted> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return [];
        }

        var rows = await TryStoreAsync(batch, cancellationToken)
                   // Lost a race with a concurrent copy of one of these messages: it is stored now, read it.
                   ?? await TryStoreAsync(batch, cancellationToken)
                   ?? throw new InvalidOperationException($"A batch of {batch.Count} messages hit a unique violation twice.");
        var results = new List<StoreResult>(batch.Count);
        var seen = new HashSet<Guid>();
        foreach (var submitted in batch)
        {
            var row = rows[submitted.Id];
            var isFirstCopy = seen.Add(submitted.Id);
            var outcome = row.IsNew && isFirstCopy ? StoreOutcome.Stored
                : row.Sender == submitted.From ? StoreOutcome.Duplicate
                : StoreOutcome.IdConflict;
            if (outcome == StoreOutcome.IdConflict)
            {
                await RejectAsync(submitted, Rejections.IdConflict, cancellationToken);
            }

            results.Add(new StoreResult(outcome, new StoredMessage
            {
                Id = submitted.Id,
                RoomId = submitted.RoomId,
                Seq = row.Seq,
                Sender = row.Sender,
                ClientId = submitted.ClientId,
                Text = submitted.Text,
                SentAt = submitted.SentAt,
                AcceptedAt = submitted.AcceptedAt,
                StoredAt = row.StoredAt,
            }));
        }

        return results;
    }

    private sealed record Row(bool IsNew, long Seq, string Sender, DateTimeOffset StoredAt);

    private async Task<Dictionary<Guid, Row>?> TryStoreAsync(IReadOnlyList<MessageSubmitted> batch, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand(StoreSql, connection);
            command.Parameters.AddWithValue("ids", batch.Select(message => message.Id).ToArray());
            command.Parameters.AddWithValue("rooms", batch.Select(message => message.RoomId).ToArray());
            command.Parameters.AddWithValue("senders", batch.Select(message => message.From).ToArray());
            command.Parameters.AddWithValue("clients", batch.Select(message => message.ClientId).ToArray());
            command.Parameters.AddWithValue("texts", batch.Select(message => message.Text).ToArray());
            command.Parameters.AddWithValue("sent_ats", batch.Select(message => message.SentAt.ToUniversalTime()).ToArray());
            command.Parameters.AddWithValue("accepted_ats", batch.Select(message => message.AcceptedAt.ToUniversalTime()).ToArray());
            // Typed, because an array of nulls alone does not tell PostgreSQL what jsonb_build_object is given.
            command.Parameters.Add(new NpgsqlParameter("trace_parents", NpgsqlDbType.Array | NpgsqlDbType.Text)
            {
                Value = batch.Select(message => message.TraceParent).ToArray(),
            });
            var storedAt = clock.GetUtcNow();
            command.Parameters.AddWithValue("stored_at", storedAt);
            command.Parameters.AddWithValue("message_type", StoredType);
            var rows = new Dictionary<Guid, Row>(batch.Count);
            var announced = new List<OutboxMessage>(batch.Count);
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    if (reader.IsDBNull(0))
                    {
                        announced.Add(new OutboxMessage
                        {
                            Id = reader.GetInt64(5),
                            MessageType = StoredType,
                            Payload = reader.GetString(6),
                            CreatedAt = storedAt,
                        });
                        continue;
                    }

                    rows[reader.GetGuid(0)] = new Row(reader.GetBoolean(1), reader.GetInt64(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4));
                }
            }

            outbox.Written(db.Database, announced.OrderBy(row => row.Id));

            return rows;
        }
        catch (PostgresException exception) when (exception.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DeadlockDetected)
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
        var row = OutboxMessage.For(
            new MessageRejected(submitted.Id, submitted.RoomId, submitted.From, submitted.ClientId, reason), clock.GetUtcNow());
        db.Outbox.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        db.ChangeTracker.Clear();
        outbox.Written(db.Database, [row]);
    }

    public static MessageStored ToContract(StoredMessage message) =>
        new(message.Id, message.RoomId, message.Seq, message.Sender, message.Text, message.SentAt, message.StoredAt);
}
