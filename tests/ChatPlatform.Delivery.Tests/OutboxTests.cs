using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Delivery.Tests;

public class OutboxTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly DateTimeOffset SentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_123);
    private static readonly DateTimeOffset StoredAt = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_001_456);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    private static MessageSubmitted Submitted(string roomId, string from = "alice", string text = "hello") =>
        new(Guid.CreateVersion7(), roomId, from, $"{from}~abc123", text, SentAt, SentAt.AddMilliseconds(5));

    private async Task<StoreResult> StoreAsync(MessageSubmitted message, OutboxSignal? handoff = null)
    {
        await using var db = database.NewContext();
        return await new MessageStore(db, handoff ?? new OutboxSignal(), new FixedClock(StoredAt)).StoreAsync(message, Cancel);
    }

    /// <summary>The outbox rows of <paramref name="room"/> carrying <typeparamref name="T"/>, oldest first.</summary>
    private async Task<List<(OutboxMessage Row, T Message)>> OutboxAsync<T>(string room, Func<T, string> roomOf)
        where T : class
    {
        await using var db = database.NewContext();
        var rows = await db.Outbox.AsNoTracking()
            .Where(row => row.MessageType == typeof(T).FullName)
            .OrderBy(row => row.Id)
            .ToListAsync(Cancel);
        return rows.Select(row =>
            {
                var (message, type) = row.Read();
                type.ShouldBe(typeof(T));
                return (row, message.ShouldBeOfType<T>());
            })
            .Where(entry => roomOf(entry.Item2) == room)
            .ToList();
    }

    private Task<List<(OutboxMessage Row, MessageStored Message)>> StoredInOutboxAsync(string room) =>
        OutboxAsync<MessageStored>(room, m => m.RoomId);

    private Task<List<(OutboxMessage Row, MessageRejected Message)>> RejectedInOutboxAsync(string room) =>
        OutboxAsync<MessageRejected>(room, m => m.RoomId);

    [Fact]
    public async Task Storing_a_message_writes_one_outbox_row_that_reads_back_as_the_MessageStored()
    {
        var room = NewRoom();
        var submitted = Submitted(room, text: "hello \"world\" ✓");

        var result = await StoreAsync(submitted);

        var (row, stored) = (await StoredInOutboxAsync(room)).ShouldHaveSingleItem();
        row.CreatedAt.ShouldBe(StoredAt);
        stored.Id.ShouldBe(submitted.Id);
        stored.RoomId.ShouldBe(room);
        stored.Seq.ShouldBe(result.Message.Seq);
        stored.Seq.ShouldBe(1);
        stored.From.ShouldBe("alice");
        stored.Text.ShouldBe("hello \"world\" ✓");
        stored.SentAt.ShouldBe(SentAt);
        stored.StoredAt.ShouldBe(StoredAt);
        stored.ShouldBe(MessageStore.ToContract(result.Message));
    }

    [Fact]
    public async Task A_message_traceparent_travels_in_its_outbox_row_and_an_untraced_row_has_no_trace_key()
    {
        var room = NewRoom();
        const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        await StoreAsync(Submitted(room, text: "traced") with { TraceParent = TraceParent });
        await StoreAsync(Submitted(room, text: "untraced"));

        var outbox = await StoredInOutboxAsync(room);
        outbox.Select(entry => entry.Message.TraceParent).ShouldBe([TraceParent, null]);
        outbox[1].Row.Payload.ShouldNotContain("traceParent");
    }

    [Fact]
    public async Task Each_stored_message_gets_its_own_row_in_seq_order()
    {
        var room = NewRoom();
        var messages = new[] { Submitted(room, text: "one"), Submitted(room, text: "two"), Submitted(room, text: "three") };

        foreach (var message in messages)
        {
            await StoreAsync(message);
        }

        var outbox = await StoredInOutboxAsync(room);
        outbox.Select(entry => entry.Message.Id).ShouldBe(messages.Select(m => m.Id));
        outbox.Select(entry => entry.Message.Seq).ShouldBe([1L, 2L, 3L]);
        outbox.Select(entry => entry.Message.Text).ShouldBe(["one", "two", "three"]);
    }

    [Fact]
    public async Task A_duplicate_store_writes_no_second_row()
    {
        var room = NewRoom();
        var submitted = Submitted(room);

        await StoreAsync(submitted);
        var again = await StoreAsync(submitted);

        again.Outcome.ShouldBe(StoreOutcome.Duplicate);
        (await StoredInOutboxAsync(room)).ShouldHaveSingleItem().Message.Id.ShouldBe(submitted.Id);
        (await RejectedInOutboxAsync(room)).ShouldBeEmpty();
    }

    [Fact]
    public async Task An_id_conflict_writes_a_MessageRejected_row_and_no_MessageStored_row()
    {
        var room = NewRoom();
        var original = Submitted(room, from: "alice");
        var impostor = original with { From = "mallory", ClientId = "mallory~xyz789", Text = "overwritten?" };

        await StoreAsync(original);
        var result = await StoreAsync(impostor);

        result.Outcome.ShouldBe(StoreOutcome.IdConflict);
        var (_, rejected) = (await RejectedInOutboxAsync(room)).ShouldHaveSingleItem();
        rejected.ShouldBe(new MessageRejected(original.Id, room, "mallory", "mallory~xyz789", "id-conflict"));
        (await StoredInOutboxAsync(room)).ShouldHaveSingleItem().Message.From.ShouldBe("alice");
    }

    [Fact]
    public async Task Storing_a_batch_hands_the_dispatcher_exactly_the_rows_it_committed_in_seq_order()
    {
        var room = NewRoom();
        var handoff = new OutboxSignal();
        var batch = new[] { Submitted(room, text: "one"), Submitted(room, text: "two"), Submitted(room, text: "three") };

        await using (var db = database.NewContext())
        {
            await new MessageStore(db, handoff, new FixedClock(StoredAt)).StoreAsync(batch, Cancel);
        }

        var handed = handoff.Take(10);
        var inTable = await StoredInOutboxAsync(room);
        handed.Select(row => row.Id).ShouldBe(inTable.Select(entry => entry.Row.Id));
        handed.Select(row => row.Read().Message).Cast<MessageStored>().Select(message => (message.Seq, message.Text))
            .ShouldBe([(1L, "one"), (2L, "two"), (3L, "three")]);
        handed.ShouldAllBe(row => row.CreatedAt == StoredAt);
    }

    [Fact]
    public async Task Rows_handed_over_carry_the_time_their_statement_committed_while_the_table_keeps_the_time_before_it()
    {
        var room = NewRoom();
        var committedAt = StoredAt.AddMilliseconds(40);
        var handoff = new OutboxSignal(clock: new FixedClock(committedAt));

        await StoreAsync(Submitted(room), handoff);

        var handed = handoff.Take(10).ShouldHaveSingleItem();
        handed.CommittedAt.ShouldBe(committedAt, "the dispatch latency counts from the commit");
        handed.CreatedAt.ShouldBe(StoredAt);
        (await StoredInOutboxAsync(room)).ShouldHaveSingleItem().Row.CreatedAt.ShouldBe(StoredAt, "the claim delay counts from before the statement");
    }

    [Fact]
    public async Task A_duplicate_store_hands_nothing_to_the_dispatcher()
    {
        var submitted = Submitted(NewRoom());
        await StoreAsync(submitted);
        var handoff = new OutboxSignal();

        await StoreAsync(submitted, handoff);

        handoff.Take(10).ShouldBeEmpty();
    }

    [Fact]
    public async Task An_id_conflict_hands_the_dispatcher_its_MessageRejected_row()
    {
        var original = Submitted(NewRoom());
        await StoreAsync(original);
        var handoff = new OutboxSignal();

        await StoreAsync(original with { From = "mallory", ClientId = "mallory~xyz789" }, handoff);

        handoff.Take(10).ShouldHaveSingleItem().Read().Message.ShouldBeOfType<MessageRejected>().Reason.ShouldBe("id-conflict");
    }

    [Fact]
    public async Task A_store_inside_an_open_transaction_hands_over_nothing_because_it_has_not_committed()
    {
        var room = NewRoom();
        var handoff = new OutboxSignal();
        await using var db = database.NewContext();
        await using (var transaction = await db.Database.BeginTransactionAsync(Cancel))
        {
            await new MessageStore(db, handoff, new FixedClock(StoredAt)).StoreAsync(Submitted(room), Cancel);
            handoff.Take(10).ShouldBeEmpty();
            await transaction.RollbackAsync(Cancel);
        }

        (await StoredInOutboxAsync(room)).ShouldBeEmpty();
    }

    [Fact]
    public void A_full_handoff_drops_further_rows_and_gives_them_back_at_most_a_batch_at_a_time()
    {
        var handoff = new OutboxSignal(capacity: 3);
        var rows = Enumerable.Range(1, 5)
            .Select(id => new OutboxMessage { Id = id, MessageType = typeof(ReceiptUpdated).FullName!, Payload = "{}" });

        handoff.Committed(rows);

        handoff.Take(2).Select(row => row.Id).ShouldBe([1L, 2L]);
        handoff.Take(10).Select(row => row.Id).ShouldBe([3L]);
        handoff.Take(10).ShouldBeEmpty();
    }

    [Fact]
    public void A_row_of_a_type_that_is_not_a_contract_is_not_read()
    {
        var row = new OutboxMessage { Id = 42, MessageType = typeof(StoredMessage).FullName!, Payload = "{}" };

        Should.Throw<InvalidOperationException>(() => row.Read()).Message.ShouldContain("unknown type");
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
