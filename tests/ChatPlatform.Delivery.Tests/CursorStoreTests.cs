using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Cursors;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Delivery.Tests;

public class CursorStoreTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    /// <summary>Stores <paramref name="count"/> messages so that the room's last seq is <paramref name="count"/>.</summary>
    private async Task<string> RoomWithMessagesAsync(int count)
    {
        var room = NewRoom();
        await using var db = database.NewContext();
        var store = new MessageStore(db, new OutboxSignal(), TimeProvider.System);
        for (var i = 0; i < count; i++)
        {
            var now = DateTimeOffset.UtcNow;
            await store.StoreAsync(new MessageSubmitted(Guid.CreateVersion7(), room, "alice", "alice~abc123", $"message {i + 1}", now, now), Cancel);
        }

        return room;
    }

    private async Task<ReceiptUpdated?> AdvanceAsync(string room, string user, long delivered, long read, OutboxSignal? handoff = null)
    {
        await using var db = database.NewContext();
        var receipts = await new CursorStore(db, handoff ?? new OutboxSignal(), TimeProvider.System)
            .AdvanceAsync([new CursorAdvanced(room, user, delivered, read)], Cancel);
        return receipts.SingleOrDefault();
    }

    private async Task<IReadOnlyList<ReceiptUpdated>> AdvanceBatchAsync(params CursorAdvanced[] updates)
    {
        await using var db = database.NewContext();
        return await new CursorStore(db, new OutboxSignal(), TimeProvider.System).AdvanceAsync(updates, Cancel);
    }

    private async Task<MemberCursor?> StoredCursorAsync(string room, string user)
    {
        await using var db = database.NewContext();
        return await db.Cursors.AsNoTracking().SingleOrDefaultAsync(c => c.RoomId == room && c.UserName == user, Cancel);
    }

    /// <summary>The receipts of <paramref name="room"/> waiting in the outbox, oldest first.</summary>
    private async Task<List<ReceiptUpdated>> ReceiptsInOutboxAsync(string room)
    {
        await using var db = database.NewContext();
        var rows = await db.Outbox.AsNoTracking()
            .Where(row => row.MessageType == typeof(ReceiptUpdated).FullName)
            .OrderBy(row => row.Id)
            .ToListAsync(Cancel);
        return rows.Select(row => row.Read())
            .Select(read =>
            {
                read.Type.ShouldBe(typeof(ReceiptUpdated));
                return (ReceiptUpdated)read.Message;
            })
            .Where(receipt => receipt.RoomId == room)
            .ToList();
    }

    [Fact]
    public async Task The_first_update_stores_the_cursors_and_returns_them()
    {
        var room = await RoomWithMessagesAsync(5);

        var receipt = await AdvanceAsync(room, "bob", delivered: 4, read: 2);

        receipt.ShouldBe(new ReceiptUpdated(room, "bob", 4, 2));
        var cursor = (await StoredCursorAsync(room, "bob")).ShouldNotBeNull();
        cursor.DeliveredSeq.ShouldBe(4);
        cursor.ReadSeq.ShouldBe(2);
    }

    [Fact]
    public async Task A_lower_delivered_is_ignored_and_returns_null()
    {
        var room = await RoomWithMessagesAsync(5);
        await AdvanceAsync(room, "bob", delivered: 4, read: 0);

        (await AdvanceAsync(room, "bob", delivered: 2, read: 0)).ShouldBeNull();
        (await AdvanceAsync(room, "bob", delivered: 4, read: 0)).ShouldBeNull();

        var cursor = (await StoredCursorAsync(room, "bob")).ShouldNotBeNull();
        cursor.DeliveredSeq.ShouldBe(4);
        cursor.ReadSeq.ShouldBe(0);
        (await ReceiptsInOutboxAsync(room)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_lower_read_is_ignored_and_returns_null()
    {
        var room = await RoomWithMessagesAsync(5);
        await AdvanceAsync(room, "bob", delivered: 5, read: 4);

        (await AdvanceAsync(room, "bob", delivered: 0, read: 3)).ShouldBeNull();
        (await AdvanceAsync(room, "bob", delivered: 5, read: 1)).ShouldBeNull();

        var cursor = (await StoredCursorAsync(room, "bob")).ShouldNotBeNull();
        cursor.DeliveredSeq.ShouldBe(5);
        cursor.ReadSeq.ShouldBe(4);
        (await ReceiptsInOutboxAsync(room)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task An_update_moving_one_cursor_forward_keeps_the_other_where_it_was()
    {
        var room = await RoomWithMessagesAsync(6);
        await AdvanceAsync(room, "bob", delivered: 5, read: 1);

        (await AdvanceAsync(room, "bob", delivered: 2, read: 3)).ShouldBe(new ReceiptUpdated(room, "bob", 5, 3));
        (await AdvanceAsync(room, "bob", delivered: 6, read: 0)).ShouldBe(new ReceiptUpdated(room, "bob", 6, 3));

        var cursor = (await StoredCursorAsync(room, "bob")).ShouldNotBeNull();
        cursor.DeliveredSeq.ShouldBe(6);
        cursor.ReadSeq.ShouldBe(3);
    }

    [Fact]
    public async Task A_cursor_never_passes_the_rooms_last_seq()
    {
        var room = await RoomWithMessagesAsync(3);

        (await AdvanceAsync(room, "bob", delivered: 10, read: 7)).ShouldBe(new ReceiptUpdated(room, "bob", 3, 3));
        (await AdvanceAsync(room, "bob", delivered: 50, read: 50)).ShouldBeNull();

        var cursor = (await StoredCursorAsync(room, "bob")).ShouldNotBeNull();
        cursor.DeliveredSeq.ShouldBe(3);
        cursor.ReadSeq.ShouldBe(3);
        (await ReceiptsInOutboxAsync(room)).ShouldBe([new ReceiptUpdated(room, "bob", 3, 3)]);
    }

    [Fact]
    public async Task Read_implies_delivered()
    {
        var room = await RoomWithMessagesAsync(5);

        var receipt = (await AdvanceAsync(room, "bob", delivered: 0, read: 3)).ShouldNotBeNull();

        receipt.Read.ShouldBe(3);
        receipt.Delivered.ShouldBeGreaterThanOrEqualTo(3);
        var cursor = (await StoredCursorAsync(room, "bob")).ShouldNotBeNull();
        cursor.ReadSeq.ShouldBe(3);
        cursor.DeliveredSeq.ShouldBeGreaterThanOrEqualTo(3);
    }

    [Fact]
    public async Task Read_implies_delivered_when_a_stored_cursor_is_behind()
    {
        var room = await RoomWithMessagesAsync(5);
        await AdvanceAsync(room, "bob", delivered: 1, read: 0);

        (await AdvanceAsync(room, "bob", delivered: 1, read: 4)).ShouldBe(new ReceiptUpdated(room, "bob", 4, 4));

        var cursor = (await StoredCursorAsync(room, "bob")).ShouldNotBeNull();
        cursor.DeliveredSeq.ShouldBe(4);
        cursor.ReadSeq.ShouldBe(4);
    }

    [Fact]
    public async Task Each_move_writes_exactly_one_receipt_to_the_outbox()
    {
        var room = await RoomWithMessagesAsync(5);

        await AdvanceAsync(room, "bob", delivered: 2, read: 0);
        await AdvanceAsync(room, "bob", delivered: 1, read: 0);
        await AdvanceAsync(room, "bob", delivered: 4, read: 1);
        await AdvanceAsync(room, "bob", delivered: 4, read: 1);
        await AdvanceAsync(room, "carol", delivered: 3, read: 3);

        (await ReceiptsInOutboxAsync(room)).ShouldBe(
        [
            new ReceiptUpdated(room, "bob", 2, 0),
            new ReceiptUpdated(room, "bob", 4, 1),
            new ReceiptUpdated(room, "carol", 3, 3),
        ]);
    }

    [Fact]
    public async Task Zero_cursors_say_nothing_new_and_store_nothing()
    {
        var room = await RoomWithMessagesAsync(3);

        (await AdvanceAsync(room, "bob", delivered: 0, read: 0)).ShouldBeNull();
        (await AdvanceAsync(room, "bob", delivered: -1, read: -1)).ShouldBeNull();

        (await StoredCursorAsync(room, "bob")).ShouldBeNull();
        (await ReceiptsInOutboxAsync(room)).ShouldBeEmpty();
    }

    [Fact]
    public async Task An_update_for_a_room_with_no_messages_stores_nothing()
    {
        var room = NewRoom();

        (await AdvanceAsync(room, "bob", delivered: 3, read: 2)).ShouldBeNull();

        (await StoredCursorAsync(room, "bob")).ShouldBeNull();
        (await ReceiptsInOutboxAsync(room)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Each_member_has_its_own_cursors()
    {
        var room = await RoomWithMessagesAsync(4);

        await AdvanceAsync(room, "bob", delivered: 4, read: 4);
        (await AdvanceAsync(room, "carol", delivered: 1, read: 0)).ShouldBe(new ReceiptUpdated(room, "carol", 1, 0));

        (await StoredCursorAsync(room, "carol")).ShouldNotBeNull().DeliveredSeq.ShouldBe(1);
        (await StoredCursorAsync(room, "bob")).ShouldNotBeNull().DeliveredSeq.ShouldBe(4);
    }

    [Fact]
    public async Task Concurrent_updates_of_one_member_leave_the_highest_cursors()
    {
        var room = await RoomWithMessagesAsync(20);

        var receipts = await Task.WhenAll(Enumerable.Range(1, 20).Select(seq => AdvanceAsync(room, "bob", delivered: seq, read: seq / 2)));

        var cursor = (await StoredCursorAsync(room, "bob")).ShouldNotBeNull();
        cursor.DeliveredSeq.ShouldBe(20);
        cursor.ReadSeq.ShouldBe(10);
        var moved = receipts.OfType<ReceiptUpdated>().ToList();
        (await ReceiptsInOutboxAsync(room)).Count.ShouldBe(moved.Count);
    }

    [Fact]
    public async Task A_cursor_that_moves_hands_its_receipt_row_to_the_dispatcher_and_one_that_stays_hands_nothing()
    {
        var room = await RoomWithMessagesAsync(3);
        var handoff = new OutboxSignal();

        await AdvanceAsync(room, "bob", delivered: 2, read: 1, handoff);
        await AdvanceAsync(room, "bob", delivered: 1, read: 0, handoff);

        var row = handoff.Take(10).ShouldHaveSingleItem();
        row.Read().Message.ShouldBe(new ReceiptUpdated(room, "bob", 2, 1));
        await using var db = database.NewContext();
        (await db.Outbox.AsNoTracking().SingleAsync(stored => stored.Id == row.Id, Cancel)).MessageType.ShouldBe(row.MessageType);
    }

    [Fact]
    public async Task A_batch_moves_the_cursors_of_several_members_and_rooms_and_returns_a_receipt_for_each()
    {
        var general = await RoomWithMessagesAsync(4);
        var random = await RoomWithMessagesAsync(2);

        var receipts = await AdvanceBatchAsync(
            new CursorAdvanced(general, "bob", 4, 1),
            new CursorAdvanced(random, "bob", 2, 2),
            new CursorAdvanced(general, "carol", 3, 0),
            // Past its own room's last seq (2), though not past the other room's (4): clamped to its own.
            new CursorAdvanced(random, "carol", 4, 4));

        receipts.ShouldBe(
        [
            new ReceiptUpdated(general, "bob", 4, 1),
            new ReceiptUpdated(general, "carol", 3, 0),
            new ReceiptUpdated(random, "bob", 2, 2),
            new ReceiptUpdated(random, "carol", 2, 2),
        ], ignoreOrder: true);
        (await StoredCursorAsync(general, "carol")).ShouldNotBeNull().DeliveredSeq.ShouldBe(3);
        (await StoredCursorAsync(random, "bob")).ShouldNotBeNull().ReadSeq.ShouldBe(2);
        (await ReceiptsInOutboxAsync(general)).Count.ShouldBe(2);
        (await ReceiptsInOutboxAsync(random)).Count.ShouldBe(2);
    }

    [Fact]
    public async Task Two_updates_of_one_member_in_a_batch_merge_into_one_receipt_with_the_highest_cursors()
    {
        var room = await RoomWithMessagesAsync(6);

        var receipts = await AdvanceBatchAsync(new CursorAdvanced(room, "bob", 5, 1), new CursorAdvanced(room, "bob", 2, 3));

        receipts.ShouldBe([new ReceiptUpdated(room, "bob", 5, 3)]);
        (await ReceiptsInOutboxAsync(room)).ShouldBe([new ReceiptUpdated(room, "bob", 5, 3)]);
    }

    [Fact]
    public async Task A_batch_writes_receipts_only_for_the_cursors_that_moved()
    {
        var room = await RoomWithMessagesAsync(5);
        await AdvanceAsync(room, "bob", delivered: 5, read: 5);

        var receipts = await AdvanceBatchAsync(
            new CursorAdvanced(room, "bob", 3, 3),
            new CursorAdvanced(room, "carol", 2, 0),
            new CursorAdvanced(room, "dave", 0, 0));

        receipts.ShouldBe([new ReceiptUpdated(room, "carol", 2, 0)]);
        (await ReceiptsInOutboxAsync(room)).ShouldBe([new ReceiptUpdated(room, "bob", 5, 5), new ReceiptUpdated(room, "carol", 2, 0)]);
        (await StoredCursorAsync(room, "dave")).ShouldBeNull();
    }

    [Fact]
    public async Task Concurrent_batches_over_the_same_members_in_opposite_orders_leave_the_highest_cursors()
    {
        var room = await RoomWithMessagesAsync(40);
        string[] users = ["bob", "carol", "dave", "erin"];

        // Half the batches list the members in reverse: whatever order a batch arrives in, the statement must lock in
        // one order for all, or two of these would deadlock (PostgreSQL would abort one, and this would throw).
        await Task.WhenAll(Enumerable.Range(1, 40).Select(seq => AdvanceBatchAsync(
            (seq % 2 == 0 ? users : users.Reverse()).Select(user => new CursorAdvanced(room, user, seq, seq / 2)).ToArray())));

        foreach (var user in users)
        {
            var cursor = (await StoredCursorAsync(room, user)).ShouldNotBeNull();
            cursor.DeliveredSeq.ShouldBe(40);
            cursor.ReadSeq.ShouldBe(20);
        }
    }

    [Theory]
    [InlineData("general", "bob", true)]
    [InlineData("", "bob", false)]
    [InlineData("no spaces", "bob", false)]
    [InlineData("general", "", false)]
    [InlineData("general", "a-user-name-of-sixty-four-characters-is-the-longest-that-fits-ok", true)]
    [InlineData("general", "a-user-name-of-sixty-five-characters-is-longer-than-the-column-ok", false)]
    public void A_cursor_update_is_valid_only_with_a_valid_room_and_a_user_of_1_to_64_characters(string room, string user, bool valid) =>
        CursorsAdvancedConsumer.IsValid(new CursorAdvanced(room, user, 1, 0)).ShouldBe(valid);
}
