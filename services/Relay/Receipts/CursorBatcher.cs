using System.Collections.Concurrent;
using ChatPlatform.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Receipts;

/// <summary>
/// Coalesces the clients' cumulative acks and reads into one cursor update per member and room per interval, and
/// sends each interval's updates together: at a thousand messages a second, every member acking every message would
/// otherwise be a broker message and a database commit each.
/// </summary>
public sealed class CursorBatcher(IBus bus, IOptions<RelayOptions> options, ILogger<CursorBatcher> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<(string RoomId, string User), Cursors> _pending = new();

    public void Delivered(string roomId, string user, long seq) => Merge(roomId, user, new Cursors(seq, 0));

    public void Read(string roomId, string user, long seq) => Merge(roomId, user, new Cursors(seq, seq));

    private void Merge(string roomId, string user, Cursors cursors) =>
        _pending.AddOrUpdate((roomId, user), cursors, (_, existing) => existing.Max(cursors));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CursorFlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // The last acks of clients that were just closed with 1001.
        await FlushAsync(cancellationToken);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        var batch = new List<((string RoomId, string User) Key, Cursors Cursors)>();
        foreach (var key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out var cursors))
            {
                batch.Add((key, cursors));
            }
        }

        try
        {
            // A confirm lost across a broker restart leaves its publish waiting forever; without a bound, that one
            // flush would hold every later read and ack of this instance's clients, and no receipt would leave it.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.PublishTimeout);
            await Task.WhenAll(batch
                .Select(item => new CursorAdvanced(item.Key.RoomId, item.Key.User, item.Cursors.Delivered, item.Cursors.Read))
                .Chunk(options.Value.MaxCursorBatch)
                .Select(chunk => bus.Publish(new CursorsAdvanced(chunk), timeout.Token)));
        }
        catch (Exception exception)
        {
            // Cursors are cumulative: putting them back loses nothing, and newer ones merge in. That holds for a flush
            // cut short by the stop too: the last flush in StopAsync sends them.
            foreach (var (key, cursors) in batch)
            {
                Merge(key.RoomId, key.User, cursors);
            }

            if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            logger.LogWarning(exception, "Publishing {Count} cursor update(s) failed; they wait for the next flush", batch.Count);
        }
    }

    private readonly record struct Cursors(long Delivered, long Read)
    {
        public Cursors Max(Cursors other) => new(Math.Max(Delivered, other.Delivered), Math.Max(Read, other.Read));
    }
}
