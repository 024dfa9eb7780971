using System.Diagnostics;
using System.Threading.Channels;
using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Storage;
using ChatPlatform.Delivery.Telemetry;
using ChatPlatform.ServiceDefaults.Resilience;
using ChatPlatform.ServiceDefaults.Telemetry;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Delivery.Outbox;

/// <summary>
/// Publishes committed outbox rows and deletes them once the broker confirmed. Rows committed in this process are
/// handed over at commit (<see cref="OutboxSignal"/>) and published at once. Whatever is still in the table
/// <see cref="DeliveryOptions.OutboxClaimDelay"/> after it was written (its instance died, its publish failed, the
/// hand-off was full) is claimed with <c>FOR UPDATE SKIP LOCKED</c> by whichever instance polls first, so instances
/// running side by side never take the same row; a crash between the publish and the delete only repeats a publish,
/// which every consumer dedupes (by id, or by seq).
/// </summary>
public sealed class OutboxDispatcher(
    IServiceScopeFactory scopes,
    OutboxSignal signal,
    IBus bus,
    DeliveryMetrics metrics,
    IOptions<DeliveryOptions> options,
    TimeProvider clock,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan PendingCountInterval = TimeSpan.FromSeconds(2);
    private DateTimeOffset _pendingCountedAt = DateTimeOffset.MinValue;

    // Ids of rows published from the hand-off, deleted by a loop of their own so that the next publish never
    // waits for the previous delete's round trip and commit.
    private readonly Channel<long[]> _published = Channel.CreateUnbounded<long[]>(new UnboundedChannelOptions { SingleReader = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var deletes = DeletePublishedAsync(stoppingToken);
        try
        {
            await DispatchAsync(stoppingToken);
        }
        finally
        {
            _published.Writer.Complete();
            await deletes;
        }
    }

    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var failedRounds = 0;
        var nextClaimAt = clock.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await PublishCommittedAsync(stoppingToken) == settings.OutboxBatchSize)
                {
                    // A full batch: there is more; go again without waiting.
                }

                if (clock.GetUtcNow() >= nextClaimAt)
                {
                    while (await DispatchOnceAsync(stoppingToken) == settings.OutboxBatchSize)
                    {
                        // A full claim: an instance died with more than a batch, or the broker was away a while.
                    }

                    nextClaimAt = clock.GetUtcNow() + settings.OutboxPollInterval;
                    await CountPendingAsync(stoppingToken);
                }

                failedRounds = 0;
                await signal.WaitAsync(nextClaimAt - clock.GetUtcNow(), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                failedRounds++;
                var delay = Backoff.Exponential(failedRounds, TimeSpan.FromMilliseconds(100), settings.OutboxMaxBackoff);
                logger.LogWarning(exception, "Outbox round failed ({Failures} in a row); next try in {Delay}", failedRounds, delay);
                await Task.Delay(delay, clock, stoppingToken);
            }
        }
    }

    /// <summary>
    /// Publishes up to one batch of the rows handed over at commit and queues them for deletion. Returns the rows
    /// taken. A row that waited here past the claim delay is left to the claim, which may already hold it; a batch
    /// whose publish fails is dropped from memory and published by the claim once it is old enough.
    /// </summary>
    public async Task<int> PublishCommittedAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var taken = signal.Take(settings.OutboxBatchSize);
        var claimable = clock.GetUtcNow() - settings.OutboxClaimDelay;
        var rows = taken.Where(row => row.CreatedAt > claimable).ToList();
        if (rows.Count > 0)
        {
            await PublishAsync(rows, cancellationToken);
            _published.Writer.TryWrite([.. rows.Select(row => row.Id)]);
        }

        return taken.Count;
    }

    /// <summary>
    /// Deletes published rows, everything published meanwhile in one statement, at most once per
    /// <see cref="DeliveryOptions.OutboxDeleteInterval"/>. A delete that fails leaves its rows
    /// to the claim, which publishes them again: a repeat the consumers dedupe, never a loss. Runs until the
    /// dispatcher stops, then deletes what is left.
    /// </summary>
    private async Task DeletePublishedAsync(CancellationToken stopping)
    {
        while (await _published.Reader.WaitToReadAsync(CancellationToken.None))
        {
            var ids = new List<long>();
            while (_published.Reader.TryRead(out var published))
            {
                ids.AddRange(published);
            }

            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
                await db.Outbox.Where(row => ids.Contains(row.Id)).ExecuteDeleteAsync(CancellationToken.None);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                logger.LogWarning(exception, "Could not delete {Count} published outbox row(s); the claim will publish them again", ids.Count);
            }

            try
            {
                // Let the next rounds' rows gather.
                await Task.Delay(options.Value.OutboxDeleteInterval, clock, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // Stopping: what the last rounds published is deleted at once, until the writer completes.
            }
        }
    }

    /// <summary>
    /// Claims up to one batch of rows older than the claim delay, publishes it with confirms, deletes it, commits.
    /// Returns the rows sent.
    /// </summary>
    public async Task<int> DispatchOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var rows = await ClaimAsync(db, settings.OutboxBatchSize, clock.GetUtcNow() - settings.OutboxClaimDelay, cancellationToken);
        if (rows.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return 0;
        }

        await PublishAsync(rows, cancellationToken);
        var ids = rows.Select(row => row.Id).ToArray();
        await db.Outbox.Where(row => ids.Contains(row.Id)).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rows.Count;
    }

    private async Task PublishAsync(IReadOnlyList<OutboxMessage> rows, CancellationToken cancellationToken)
    {
        var publications = Publications(rows).ToList();
        using var activity = DeliveryTracing.Source.StartBatch(
            DeliveryTracing.Dispatch, ActivityKind.Producer, StoredMessages(publications), static message => message.TraceParent);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(options.Value.OutboxPublishTimeout);
            await Task.WhenAll(publications.Select(publication => bus.Publish(publication.Message, publication.Type, timeout.Token)));
        }

        var now = clock.GetUtcNow();
        foreach (var row in rows)
        {
            // From the commit: the statement before it is the store's time (chat_message_store_duration), not the
            // outbox's.
            metrics.Dispatched(now - (row.CommittedAt ?? row.CreatedAt));
        }
    }

    /// <summary>
    /// What one round publishes: its stored messages as one <see cref="MessagesStored"/> (in row order, which is seq
    /// order per room), its receipts as one <see cref="ReceiptsUpdated"/>, every other row on its own. Relays still
    /// tolerate reordering between rounds: they fill gaps by seq, and receipts are cumulative.
    /// </summary>
    internal static IEnumerable<(object Message, Type Type)> Publications(IReadOnlyList<OutboxMessage> rows)
    {
        var stored = new List<MessageStored>();
        var receipts = new List<ReceiptUpdated>();
        foreach (var row in rows)
        {
            var (message, type) = row.Read();
            switch (message)
            {
                case MessageStored messageStored:
                    stored.Add(messageStored);
                    break;
                case ReceiptUpdated receipt:
                    receipts.Add(receipt);
                    break;
                default:
                    yield return (message, type);
                    break;
            }
        }

        if (stored.Count > 0)
        {
            yield return (new MessagesStored(stored), typeof(MessagesStored));
        }

        if (receipts.Count > 0)
        {
            yield return (new ReceiptsUpdated(receipts), typeof(ReceiptsUpdated));
        }
    }

    private static IReadOnlyList<MessageStored> StoredMessages(List<(object Message, Type Type)> publications) =>
        publications.Select(publication => publication.Message).OfType<MessagesStored>().FirstOrDefault()?.Messages ?? [];

    /// <summary>
    /// Locks up to <paramref name="batchSize"/> of the oldest rows written before <paramref name="writtenBefore"/> for
    /// the current transaction, skipping rows another dispatcher holds: two instances never take the same row while
    /// both are alive, and a row whose dispatcher died is free again the moment its transaction ends.
    /// </summary>
    public static Task<List<OutboxMessage>> ClaimAsync(
        ChatDbContext db, int batchSize, DateTimeOffset writtenBefore, CancellationToken cancellationToken) =>
        db.Outbox
            .FromSql($"SELECT * FROM outbox_messages WHERE created_at < {writtenBefore} ORDER BY id LIMIT {batchSize} FOR UPDATE SKIP LOCKED")
            .AsNoTracking()
            .ToListAsync(cancellationToken);

    private async Task CountPendingAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (now - _pendingCountedAt < PendingCountInterval)
        {
            return;
        }

        _pendingCountedAt = now;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        // Rows past the claim delay: younger ones are normally published already and only wait for their delete
        // (at most OutboxDeleteInterval), so counting them would show a backlog in proportion to the traffic.
        var claimable = now - options.Value.OutboxClaimDelay;
        metrics.OutboxPending(await db.Outbox.LongCountAsync(row => row.CreatedAt < claimable, cancellationToken));
    }
}
