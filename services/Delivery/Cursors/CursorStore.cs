using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Delivery.Cursors;

/// <summary>
/// Moves a member's delivered/read cursors forward, never back, and in the same statement writes the receipt
/// that tells the room. A cursor never passes the room's last seq, and read implies delivered.
/// </summary>
public sealed class CursorStore(ChatDbContext db, OutboxSignal outbox, TimeProvider clock)
{
    /// <summary>Returns the stored cursors if they moved, null if the update said nothing new.</summary>
    public async Task<ReceiptUpdated?> AdvanceAsync(CursorAdvanced update, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var messageType = OutboxMessage.TypeName<ReceiptUpdated>();
        var read = Math.Max(0, update.Read);
        var delivered = Math.Max(update.Delivered, read);
        // One statement: concurrent updates of one member cannot move a cursor backwards, and the receipt is
        // written exactly when the cursor moved.
        var moved = await db.Database.SqlQuery<CursorRow>($"""
            WITH last AS (
                SELECT COALESCE((SELECT last_seq FROM room_sequences WHERE room_id = {update.RoomId}), 0) AS seq
            ), moved AS (
                INSERT INTO member_cursors AS cursor (room_id, user_name, delivered_seq, read_seq, updated_at)
                SELECT {update.RoomId}, {update.User}, LEAST({delivered}, last.seq), LEAST({read}, last.seq), {now}
                FROM last WHERE LEAST({delivered}, last.seq) > 0
                ON CONFLICT (room_id, user_name) DO UPDATE
                  SET delivered_seq = GREATEST(cursor.delivered_seq, EXCLUDED.delivered_seq),
                      read_seq = GREATEST(cursor.read_seq, EXCLUDED.read_seq),
                      updated_at = EXCLUDED.updated_at
                  WHERE EXCLUDED.delivered_seq > cursor.delivered_seq OR EXCLUDED.read_seq > cursor.read_seq
                RETURNING delivered_seq, read_seq
            ), announced AS (
                INSERT INTO outbox_messages (message_type, payload, created_at)
                SELECT {messageType},
                       jsonb_build_object('roomId', {update.RoomId}, 'user', {update.User},
                                          'delivered', moved.delivered_seq, 'read', moved.read_seq),
                       {now}
                FROM moved
                RETURNING id
            )
            SELECT moved.delivered_seq AS "DeliveredSeq", moved.read_seq AS "ReadSeq", announced.id AS "OutboxId"
            FROM moved CROSS JOIN announced
            """).ToListAsync(cancellationToken);
        if (moved.Count == 0)
        {
            return null;
        }

        var receipt = new ReceiptUpdated(update.RoomId, update.User, moved[0].DeliveredSeq, moved[0].ReadSeq);
        var row = OutboxMessage.For(receipt, now);
        row.Id = moved[0].OutboxId;
        outbox.Written(db.Database, [row]);
        return receipt;
    }

    // Rows of the final SELECT; EF reads them by these property names.
    internal sealed class CursorRow
    {
        public long DeliveredSeq { get; set; }

        public long ReadSeq { get; set; }

        public long OutboxId { get; set; }
    }
}
