using System.Threading.Channels;

namespace ChatPlatform.Delivery.Outbox;

/// <summary>
/// Wakes the dispatcher the moment a transaction with outbox rows commits in this process. Rows written by
/// another instance are that instance's to publish; polling picks up whatever a crashed instance left.
/// </summary>
public sealed class OutboxSignal
{
    // One pending wake-up is enough: the dispatcher drains everything each time it runs, so further
    // signals while one is pending are dropped.
    private readonly Channel<bool> _pending = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public void Notify() => _pending.Writer.TryWrite(true);

    /// <summary>Returns when signalled or when <paramref name="pollInterval"/> passed, whichever is first.</summary>
    public async Task WaitAsync(TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(pollInterval);
        try
        {
            await _pending.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval passed without a signal.
        }
    }
}
