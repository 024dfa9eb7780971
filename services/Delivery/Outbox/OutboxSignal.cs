using System.Threading.Channels;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace ChatPlatform.Delivery.Outbox;

/// <summary>
/// Hands the outbox rows a statement committed in this process to the dispatcher at once, so it publishes them
/// without reading them back: no wake-up round, no claim query between a commit and its publish. The table stays
/// the record: a row dropped here (the hand-off is full, the process dies) waits in the table until the
/// dispatcher's claim takes it, <see cref="DeliveryOptions.OutboxClaimDelay"/> after it was written.
/// </summary>
public sealed class OutboxSignal(int capacity = OutboxSignal.DefaultCapacity, TimeProvider? clock = null)
{
    public const int DefaultCapacity = 10_000;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    private readonly Channel<OutboxMessage> _committed = Channel.CreateBounded<OutboxMessage>(
        new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>
    /// Hands over the rows a statement just wrote through <paramref name="database"/>. Outside a transaction the
    /// statement committed as it returned; inside one nothing is committed yet, and the claim takes the rows later.
    /// </summary>
    public void Written(DatabaseFacade database, IEnumerable<OutboxMessage> rows)
    {
        if (database.CurrentTransaction is null)
        {
            Committed(rows);
        }
    }

    /// <summary>
    /// Called after the commit: rows of a statement that failed must never reach this. The rows are stamped with the
    /// time of the commit, from which their dispatch latency counts.
    /// </summary>
    public void Committed(IEnumerable<OutboxMessage> rows)
    {
        var committedAt = _clock.GetUtcNow();
        foreach (var row in rows)
        {
            row.CommittedAt = committedAt;
            _committed.Writer.TryWrite(row);
        }
    }

    /// <summary>Up to <paramref name="limit"/> committed rows, in the order they were handed over.</summary>
    public List<OutboxMessage> Take(int limit)
    {
        var rows = new List<OutboxMessage>();
        while (rows.Count < limit && _committed.Reader.TryRead(out var row))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Returns when a row was handed over or when <paramref name="timeout"/> passed, whichever is first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout <= TimeSpan.Zero || _committed.Reader.TryPeek(out _))
        {
            return;
        }

        using var expiry = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        expiry.CancelAfter(timeout);
        try
        {
            await _committed.Reader.WaitToReadAsync(expiry.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The timeout passed with nothing handed over.
        }
    }
}
