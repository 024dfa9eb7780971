using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Storage;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Delivery.Messages;

/// <summary>Where a batch sat in the queue: RabbitMQ numbers one consumer's deliveries 1, 2, 3… in queue order.</summary>
public readonly record struct QueuePosition(string Consumer, ulong Delivery);

/// <summary>Stores messages in one statement; the results are in the messages' order.</summary>
public delegate Task<IReadOnlyList<StoreResult>> StoreMessages(IReadOnlyList<MessageSubmitted> messages, CancellationToken cancellationToken);

/// <summary>
/// Stores the submitted batches this instance has in hand in the order the queue delivered them, together in one
/// statement. The broker hands batches to several consume calls at once, and those reach this point in any order;
/// stored as they came, a sender's later message could take a lower seq than its earlier one, and show above it on
/// every screen. So a batch waits here for the deliveries before it (at most <see cref="DeliveryOptions.StoreOrderWait"/>,
/// for one the endpoint took elsewhere, such as to its error queue), and whatever waits goes into the next statement.
/// One statement at a time also means one commit for many relay batches under load.
/// </summary>
public sealed class SubmitSequencer(StoreMessages store, IOptions<DeliveryOptions> options, TimeProvider clock, ILogger<SubmitSequencer> logger)
    : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly SortedList<ulong, Entry> _inOrder = [];
    // Batches with no position (another transport) or from a consumer that is no longer the current one.
    private readonly List<Entry> _anyOrder = [];
    private readonly SemaphoreSlim _arrived = new(0);
    private string? _consumer;
    // The delivery of the current consumer expected next.
    private ulong _next;
    private long? _gapSeenAt;

    /// <summary>Completes when the batch is stored, with its messages' results in the batch's order.</summary>
    public async Task<IReadOnlyList<StoreResult>> StoreAsync(
        QueuePosition? position, IReadOnlyList<MessageSubmitted> messages, CancellationToken cancellationToken)
    {
        var entry = new Entry(position, messages);
        lock (_gate)
        {
            if (position is not { } at)
            {
                _anyOrder.Add(entry);
            }
            else
            {
                if (at.Consumer != _consumer)
                {
                    // A new consumer (the instance started, the broker restarted, or this instance became the active
                    // consumer) has a channel of its own, whose deliveries the broker numbers from 1; even its first
                    // ones can reach this point in either order. What still waits from the old one is not held back.
                    _anyOrder.AddRange(_inOrder.Values);
                    _inOrder.Clear();
                    _consumer = at.Consumer;
                    _next = 1;
                    _gapSeenAt = null;
                }

                // A redelivery of a position still waiting replaces it: the first consume call has given up.
                if (_inOrder.Remove(at.Delivery, out var replaced))
                {
                    replaced.Completion.TrySetCanceled(CancellationToken.None);
                }

                _inOrder.Add(at.Delivery, entry);
            }
        }

        _arrived.Release();
        return await entry.Completion.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                var ready = TakeReady(out var waitFor);
                if (ready.Count > 0)
                {
                    await StoreAsync(ready, stoppingToken);
                    continue;
                }

                if (waitFor is { } wait)
                {
                    await _arrived.WaitAsync(wait, stoppingToken);
                }
                else
                {
                    await _arrived.WaitAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            lock (_gate)
            {
                foreach (var entry in _anyOrder.Concat(_inOrder.Values))
                {
                    entry.Completion.TrySetCanceled(stoppingToken);
                }
            }
        }
    }

    /// <summary>
    /// Everything that may be stored now, in queue order: batches with no order to keep, then the waiting run that
    /// starts at the expected delivery (or at a late one: a retry of a batch that failed). When the expected delivery
    /// is missing, the run after it waits until the gap is older than the order wait; <paramref name="waitFor"/> says how
    /// much longer.
    /// </summary>
    internal List<Entry> TakeReady(out TimeSpan? waitFor)
    {
        waitFor = null;
        lock (_gate)
        {
            var ready = new List<Entry>(_anyOrder);
            _anyOrder.Clear();
            while (_inOrder.Count > 0)
            {
                var first = _inOrder.Keys[0];
                if (first > _next)
                {
                    _gapSeenAt ??= clock.GetTimestamp();
                    var waited = clock.GetElapsedTime(_gapSeenAt.Value);
                    if (waited < options.Value.StoreOrderWait)
                    {
                        waitFor = options.Value.StoreOrderWait - waited;
                        break;
                    }

                    logger.LogInformation("Delivery {Missing} of the submitted queue did not reach the store within {Wait}; storing {Next} without waiting for it",
                        _next, options.Value.StoreOrderWait, first);
                }

                ready.Add(_inOrder.Values[0]);
                _inOrder.RemoveAt(0);
                _next = Math.Max(_next, first + 1);
                _gapSeenAt = null;
            }

            return ready;
        }
    }

    private async Task StoreAsync(List<Entry> ready, CancellationToken stoppingToken)
    {
        try
        {
            Complete(ready, await store(ready.SelectMany(entry => entry.Messages).ToList(), stoppingToken));
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            if (ready.Count == 1)
            {
                ready[0].Completion.TrySetException(exception);
                return;
            }

            // One bad batch must not fail the others stored with it: each is tried alone (in order), and only what
            // fails then goes back to its consume call's retry.
            logger.LogWarning(exception, "Storing {Count} batches together failed; storing them one by one", ready.Count);
            foreach (var entry in ready)
            {
                try
                {
                    entry.Completion.TrySetResult(await store(entry.Messages, stoppingToken));
                }
                catch (Exception single) when (single is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    entry.Completion.TrySetException(single);
                }
            }
        }
        finally
        {
            // Stopping mid-statement: the consume calls give their batches back to the broker.
            foreach (var entry in ready)
            {
                entry.Completion.TrySetCanceled(stoppingToken);
            }
        }
    }

    private static void Complete(List<Entry> ready, IReadOnlyList<StoreResult> results)
    {
        var offset = 0;
        foreach (var entry in ready)
        {
            var count = entry.Messages.Count;
            entry.Completion.TrySetResult(results.Skip(offset).Take(count).ToList());
            offset += count;
        }
    }

    public override void Dispose()
    {
        _arrived.Dispose();
        base.Dispose();
    }

    internal sealed record Entry(QueuePosition? Position, IReadOnlyList<MessageSubmitted> Messages)
    {
        public TaskCompletionSource<IReadOnlyList<StoreResult>> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
