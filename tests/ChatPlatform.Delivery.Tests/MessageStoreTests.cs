using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Delivery.Tests;

public class MessageStoreTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static MessageSubmitted Submitted(string roomId, string from = "alice", Guid? id = null) =>
        new(id ?? Guid.CreateVersion7(), roomId, from, $"{from}~abc123", "hello", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);

    private async Task<StoreResult> StoreAsync(MessageSubmitted message)
    {
        await using var db = database.NewContext();
        return await new MessageStore(db, new OutboxSignal(), TimeProvider.System).StoreAsync(message, Cancel);
    }

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    [Fact]
    public async Task The_first_message_of_a_room_gets_seq_1_and_the_next_seq_2()
    {
        var room = NewRoom();

        (await StoreAsync(Submitted(room))).Message.Seq.ShouldBe(1);
        (await StoreAsync(Submitted(room))).Message.Seq.ShouldBe(2);
    }

    [Fact]
    public async Task Resending_the_same_id_stores_one_row_and_returns_the_original_seq()
    {
        var room = NewRoom();
        var message = Submitted(room);

        var first = await StoreAsync(message);
        var again = await StoreAsync(message);

        first.Outcome.ShouldBe(StoreOutcome.Stored);
        again.Outcome.ShouldBe(StoreOutcome.Duplicate);
        again.Message.Seq.ShouldBe(first.Message.Seq);
        await using var db = database.NewContext();
        (await db.Messages.CountAsync(m => m.RoomId == room, Cancel)).ShouldBe(1);
        (await db.RoomSequences.SingleAsync(s => s.RoomId == room, Cancel)).LastSeq.ShouldBe(1);
    }

    [Fact]
    public async Task The_same_id_from_another_sender_is_an_id_conflict_and_changes_nothing()
    {
        var room = NewRoom();
        var original = Submitted(room, from: "alice");

        await StoreAsync(original);
        var impostor = await StoreAsync(original with { From = "mallory", Text = "overwritten?" });

        impostor.Outcome.ShouldBe(StoreOutcome.IdConflict);
        await using var db = database.NewContext();
        var stored = await db.Messages.SingleAsync(m => m.Id == original.Id, Cancel);
        stored.Sender.ShouldBe("alice");
        stored.Text.ShouldBe("hello");
    }

    [Fact]
    public async Task Concurrent_messages_in_one_room_get_every_seq_once_without_gaps()
    {
        var room = NewRoom();

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => StoreAsync(Submitted(room))));

        results.Select(r => r.Message.Seq).Order().ShouldBe(Enumerable.Range(1, 40).Select(i => (long)i));
    }

    [Fact]
    public async Task Concurrent_copies_of_one_message_store_one_row()
    {
        var room = NewRoom();
        var message = Submitted(room);

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => StoreAsync(message)));

        results.Count(r => r.Outcome == StoreOutcome.Stored).ShouldBe(1);
        results.ShouldAllBe(r => r.Message.Seq == 1);
        await using var db = database.NewContext();
        (await db.RoomSequences.SingleAsync(s => s.RoomId == room, Cancel)).LastSeq.ShouldBe(1);
    }

    [Fact]
    public async Task Each_room_counts_its_own_seqs()
    {
        var (first, second) = (NewRoom(), NewRoom());

        await StoreAsync(Submitted(first));
        await StoreAsync(Submitted(first));

        (await StoreAsync(Submitted(second))).Message.Seq.ShouldBe(1);
    }

    private async Task<IReadOnlyList<StoreResult>> StoreBatchAsync(params MessageSubmitted[] batch)
    {
        await using var db = database.NewContext();
        return await new MessageStore(db, new OutboxSignal(), TimeProvider.System).StoreAsync(batch, Cancel);
    }

    [Fact]
    public async Task A_batch_numbers_each_rooms_messages_in_the_order_it_holds_them()
    {
        var (first, second) = (NewRoom(), NewRoom());

        var results = await StoreBatchAsync(Submitted(first), Submitted(second), Submitted(first), Submitted(second), Submitted(first));

        results.Select(r => (r.Message.RoomId, r.Message.Seq)).ShouldBe([(first, 1L), (second, 1L), (first, 2L), (second, 2L), (first, 3L)]);
        results.ShouldAllBe(r => r.Outcome == StoreOutcome.Stored);
    }

    [Fact]
    public async Task A_batch_holding_the_same_id_twice_stores_one_row_and_one_outbox_row()
    {
        var room = NewRoom();
        var message = Submitted(room);

        var results = await StoreBatchAsync(message, Submitted(room), message);

        results.Select(r => r.Outcome).ShouldBe([StoreOutcome.Stored, StoreOutcome.Stored, StoreOutcome.Duplicate]);
        results[2].Message.Seq.ShouldBe(results[0].Message.Seq);
        await using var db = database.NewContext();
        (await db.Messages.CountAsync(m => m.RoomId == room, Cancel)).ShouldBe(2);
        (await db.Outbox.ToListAsync(Cancel)).Count(o => o.Payload.Contains(message.Id.ToString(), StringComparison.Ordinal)).ShouldBe(1);
    }

    [Fact]
    public async Task A_batch_mixing_stored_and_new_ids_keeps_the_stored_seqs_and_numbers_only_the_new()
    {
        var room = NewRoom();
        var earlier = Submitted(room);
        await StoreAsync(earlier);

        var results = await StoreBatchAsync(Submitted(room), earlier, earlier with { From = "mallory" }, Submitted(room));

        results.Select(r => (r.Outcome, r.Message.Seq)).ShouldBe(
            [(StoreOutcome.Stored, 2L), (StoreOutcome.Duplicate, 1L), (StoreOutcome.IdConflict, 1L), (StoreOutcome.Stored, 3L)]);
        await using var db = database.NewContext();
        (await db.RoomSequences.SingleAsync(s => s.RoomId == room, Cancel)).LastSeq.ShouldBe(3);
    }

    [Fact]
    public async Task Concurrent_batches_over_the_same_rooms_in_either_order_leave_no_gap_and_no_deadlock()
    {
        var (first, second) = (NewRoom(), NewRoom());

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(index => index % 2 == 0
            ? StoreBatchAsync(Submitted(first), Submitted(second), Submitted(first))
            : StoreBatchAsync(Submitted(second), Submitted(first), Submitted(second))));

        var stored = results.SelectMany(batch => batch).ToList();
        stored.ShouldAllBe(r => r.Outcome == StoreOutcome.Stored);
        foreach (var room in new[] { first, second })
        {
            stored.Where(r => r.Message.RoomId == room).Select(r => r.Message.Seq).Order().ShouldBe(Enumerable.Range(1, 30).Select(i => (long)i));
        }
    }
}
