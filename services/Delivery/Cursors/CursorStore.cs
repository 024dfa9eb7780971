using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace ChatPlatform.Delivery.Cursors;

/// <summary>
/// Moves members' delivered/read cursors forward, never back, and in the same statement writes the receipts that
/// tell the rooms. A cursor never passes its room's last seq, and read implies delivered.
/// </summary>
public sealed class CursorStore(ChatDbContext db, OutboxSignal outbox, TimeProvider clock)
{
    private static readonly string ReceiptType = OutboxMessage.TypeName<ReceiptUpdated>();

    // One statement for a relay's flush: concurrent updates of one member cannot move a cursor backwards, a receipt
    // is written exactly when a cursor moved, and the flush costs one round trip and one commit however many members
    // it carries. Two updates of one member in a batch are merged first (each cursor's maximum), because one
    // INSERT … ON CONFLICT cannot update a row twice. Rows are locked in (room, user) order, so two instances writing
    // overlapping batches wait for each other instead of deadlocking.
    private const string AdvanceSql = """
        WITH requested AS (
            SELECT room_id, user_name, max(GREATEST(delivered, read, 0)) AS delivered, max(GREATEST(read, 0)) AS read
            FROM unnest(@rooms, @users, @delivered, @reads) AS input(room_id, user_name, delivered, read)
            GROUP BY room_id, user_name
        ), bounded AS (
            SELECT requested.room_id, requested.user_name,
                   LEAST(requested.delivered, COALESCE(sequence.last_seq, 0)) AS delivered,
                   LEAST(requested.read, COALESCE(sequence.last_seq, 0)) AS read
            FROM requested LEFT JOIN room_sequences AS sequence USING (room_id)
        ), moved AS (
            INSERT INTO member_cursors AS cursor (room_id, user_name, delivered_seq, read_seq, updated_at)
            SELECT room_id, user_name, delivered, read, @now FROM bounded WHERE delivered > 0
            ORDER BY room_id, user_name
            ON CONFLICT (room_id, user_name) DO UPDATE
              SET delivered_seq = GREATEST(cursor.delivered_seq, EXCLUDED.delivered_seq),
                  read_seq = GREATEST(cursor.read_seq, EXCLUDED.read_seq),
                  updated_at = EXCLUDED.updated_at
              WHERE EXCLUDED.delivered_seq > cursor.delivered_seq OR EXCLUDED.read_seq > cursor.read_seq
            RETURNING room_id, user_name, delivered_seq, read_seq
        )
        INSERT INTO outbox_messages (message_type, payload, created_at)
        SELECT @message_type,
               jsonb_build_object('roomId', room_id, 'user', user_name, 'delivered', delivered_seq, 'read', read_seq),
               @now
        FROM moved ORDER BY room_id, user_name
        RETURNING id, payload::text, payload->>'roomId', payload->>'user', (payload->>'delivered')::bigint, (payload->>'read')::bigint
        """;

    /// <summary>Stores a batch of updates in one statement and returns the cursors that moved, as their receipts.</summary>
    public async Task<IReadOnlyList<ReceiptUpdated>> AdvanceAsync(IReadOnlyList<CursorAdvanced> updates, CancellationToken cancellationToken)
    {
        if (updates.Count == 0)
        {
            return [];
        }

        var now = clock.GetUtcNow();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand(AdvanceSql, connection);
            command.Parameters.AddWithValue("rooms", updates.Select(update => update.RoomId).ToArray());
            command.Parameters.AddWithValue("users", updates.Select(update => update.User).ToArray());
            command.Parameters.AddWithValue("delivered", updates.Select(update => update.Delivered).ToArray());
            command.Parameters.AddWithValue("reads", updates.Select(update => update.Read).ToArray());
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("message_type", ReceiptType);
            var rows = new List<OutboxMessage>();
            var receipts = new List<ReceiptUpdated>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add(new OutboxMessage { Id = reader.GetInt64(0), MessageType = ReceiptType, Payload = reader.GetString(1), CreatedAt = now });
                    receipts.Add(new ReceiptUpdated(reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5)));
                }
            }

            outbox.Written(db.Database, rows);
            return receipts;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
