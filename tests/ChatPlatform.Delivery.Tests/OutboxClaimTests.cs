using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Delivery.Tests;

/// <summary>
/// Claims take the oldest rows of the whole table, so this class has a database of its own (tests of one class run
/// one after another) and each test starts from an empty outbox.
/// </summary>
public class OutboxClaimTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Empties the outbox, then writes <paramref name="count"/> rows one by one; returns their ids, oldest first.</summary>
    private async Task<List<long>> OutboxWithRowsAsync(int count)
    {
        await using var db = database.NewContext();
        await db.Outbox.ExecuteDeleteAsync(Cancel);
        var room = $"room-{Guid.NewGuid():N}";
        var ids = new List<long>();
        for (var i = 1; i <= count; i++)
        {
            var row = OutboxMessage.For(new ReceiptUpdated(room, "bob", i, 0), DateTimeOffset.UtcNow);
            db.Outbox.Add(row);
            await db.SaveChangesAsync(Cancel);
            ids.Add(row.Id);
        }

        db.ChangeTracker.Clear();
        return ids;
    }

    private static async Task<List<long>> ClaimAsync(ChatDbContext db, int batchSize) =>
        (await OutboxDispatcher.ClaimAsync(db, batchSize, DateTimeOffset.UtcNow.AddMinutes(1), Cancel)).Select(row => row.Id).ToList();

    [Fact]
    public async Task A_claim_takes_the_oldest_rows_first_and_at_most_the_batch_size()
    {
        var ids = await OutboxWithRowsAsync(5);
        await using var db = database.NewContext();
        await using var transaction = await db.Database.BeginTransactionAsync(Cancel);

        var claimed = await OutboxDispatcher.ClaimAsync(db, 3, DateTimeOffset.UtcNow.AddMinutes(1), Cancel);

        claimed.Select(row => row.Id).ShouldBe(ids[..3]);
        claimed.Select(row => ((ReceiptUpdated)row.Read().Message).Delivered).ShouldBe([1L, 2L, 3L]);
    }

    [Fact]
    public async Task A_claim_larger_than_the_outbox_takes_every_row()
    {
        var ids = await OutboxWithRowsAsync(2);
        await using var db = database.NewContext();
        await using var transaction = await db.Database.BeginTransactionAsync(Cancel);

        (await ClaimAsync(db, 10)).ShouldBe(ids);
    }

    [Fact]
    public async Task Two_open_transactions_claim_disjoint_rows_oldest_first()
    {
        var ids = await OutboxWithRowsAsync(7);
        await using var first = database.NewContext();
        await using var second = database.NewContext();
        await using var firstTransaction = await first.Database.BeginTransactionAsync(Cancel);
        await using var secondTransaction = await second.Database.BeginTransactionAsync(Cancel);

        var firstClaim = await ClaimAsync(first, 3);
        var secondClaim = await ClaimAsync(second, 3);

        firstClaim.ShouldBe(ids[..3]);
        secondClaim.ShouldBe(ids[3..6]);
    }

    [Fact]
    public async Task A_transaction_finds_nothing_while_another_holds_every_row()
    {
        await OutboxWithRowsAsync(3);
        await using var first = database.NewContext();
        await using var second = database.NewContext();
        await using var firstTransaction = await first.Database.BeginTransactionAsync(Cancel);
        await using var secondTransaction = await second.Database.BeginTransactionAsync(Cancel);

        (await ClaimAsync(first, 10)).Count.ShouldBe(3);

        (await ClaimAsync(second, 10)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Concurrent_claims_in_two_transactions_never_take_the_same_row()
    {
        var ids = await OutboxWithRowsAsync(40);
        await using var first = database.NewContext();
        await using var second = database.NewContext();
        await using var firstTransaction = await first.Database.BeginTransactionAsync(Cancel);
        await using var secondTransaction = await second.Database.BeginTransactionAsync(Cancel);

        var claims = await Task.WhenAll(ClaimAsync(first, 15), ClaimAsync(second, 15));

        claims[0].Intersect(claims[1]).ShouldBeEmpty();
        foreach (var claim in claims)
        {
            claim.Count.ShouldBeLessThanOrEqualTo(15);
            claim.ShouldBeInOrder();
            claim.ShouldBeSubsetOf(ids);
        }
    }

    [Fact]
    public async Task Rows_claimed_by_a_transaction_that_rolls_back_can_be_claimed_again()
    {
        var ids = await OutboxWithRowsAsync(4);
        await using var first = database.NewContext();
        await using var second = database.NewContext();
        await using var firstTransaction = await first.Database.BeginTransactionAsync(Cancel);
        (await ClaimAsync(first, 2)).ShouldBe(ids[..2]);

        await firstTransaction.RollbackAsync(Cancel);

        await using var secondTransaction = await second.Database.BeginTransactionAsync(Cancel);
        (await ClaimAsync(second, 2)).ShouldBe(ids[..2]);
    }

    [Fact]
    public async Task Rows_of_a_transaction_that_ends_without_commit_are_free_again()
    {
        var ids = await OutboxWithRowsAsync(2);
        await using (var first = database.NewContext())
        {
            await using var firstTransaction = await first.Database.BeginTransactionAsync(Cancel);
            (await ClaimAsync(first, 2)).ShouldBe(ids);
        }

        await using var second = database.NewContext();
        await using var secondTransaction = await second.Database.BeginTransactionAsync(Cancel);
        (await ClaimAsync(second, 2)).ShouldBe(ids);
    }

    [Fact]
    public async Task Rows_deleted_by_a_committed_claim_are_not_claimed_again()
    {
        var ids = await OutboxWithRowsAsync(4);
        await using (var first = database.NewContext())
        {
            await using var firstTransaction = await first.Database.BeginTransactionAsync(Cancel);
            var claimed = await ClaimAsync(first, 2);
            await first.Outbox.Where(row => claimed.Contains(row.Id)).ExecuteDeleteAsync(Cancel);
            await firstTransaction.CommitAsync(Cancel);
        }

        await using var second = database.NewContext();
        await using var secondTransaction = await second.Database.BeginTransactionAsync(Cancel);
        (await ClaimAsync(second, 10)).ShouldBe(ids[2..]);
    }

    [Fact]
    public async Task A_claim_leaves_the_rows_written_since_the_cutoff_to_the_instance_that_wrote_them()
    {
        var ids = await OutboxWithRowsAsync(4);
        await using var db = database.NewContext();
        await using var transaction = await db.Database.BeginTransactionAsync(Cancel);
        var cutoff = (await db.Outbox.AsNoTracking().SingleAsync(row => row.Id == ids[2], Cancel)).CreatedAt;

        var claimed = await OutboxDispatcher.ClaimAsync(db, 10, cutoff, Cancel);

        claimed.Select(row => row.Id).ShouldBe(ids[..2]);
    }
}
