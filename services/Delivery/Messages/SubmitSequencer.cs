using System.Diagnostics;
using System.Runtime.CompilerServices;
using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Storage;
using ChatPlatform.ServiceDefaults.Resilience;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ChatPlatform.Delivery.Messages;

/// <summary>
/// Where a batch sat in the queue: RabbitMQ numbers the deliveries on one channel 1, 2, 3… in queue order. The
/// channel is compared by reference: a channel opened again after a reconnect numbers from 1 again.
/// </summary>
public readonly record struct QueuePosition(object Channel, ulong Delivery);

/// <summary>Stores messages in one statement; the results are in the messages' order.</summary>
public delegate Task<IReadOnlyList<StoreResult>> StoreMessages(IReadOnlyList<MessageSubmitted> messages, CancellationToken cancellationToken);

/// <summary>A batch's results, in the batch's order, and how long the statement that stored it took.</summary>
public sealed record StoredBatch(IReadOnlyList<StoreResult> Results, TimeSpan Statement);

/// <summary>
/// Stores the submitted batches this instance has in hand in the order the queue delivered them, together in one
/// statement. The broker hands batches to several consume calls at once, and those reach this point in any order;
/// stored as they came, a sender's later message could take a lower seq than its earlier one, and show above it on
/// every screen. So a batch waits here for the deliveries before it (at most <see cref="DeliveryOptions.StoreOrderWait"/>,
/// for one that never reaches the store), and whatever waits goes into the next statement. A statement that fails
/// for a passing reason (PostgreSQL restarting) is tried again here, with everything behind it waiting, so the
/// retries cannot overtake each other; one that fails otherwise is split, so one bad batch fails alone.
/// </summary>
public sealed class SubmitSequencer(StoreMessages store, IOptions<DeliveryOptions> options, TimeProvider clock, ILogger<SubmitSequencer> logger)
    : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly SortedList<ulong, Entry> _inOrder = [];
    // Batches with no position (another transport) or from a channel that is no longer the current one.
    private readonly List<Entry> _anyOrder = [];
    // Weak: a channel that was replaced must not be kept alive (with its connection) for the life of the process.
    private readonly ConditionalWeakTable<object, object?> _retiredChannels = [];
    private readonly SemaphoreSlim _arrived = new(0);
    private object? _channel;
    private ulong _next = 1;
    private long? _gapSeenAt;
    private bool _stopped;

    /// <summary>
    /// Completes when the batch is stored, with its messages' results in the batch's order. A first attempt is retried
    /// here on a passing failure; a consume call's own retry is not, or the two retry schedules would multiply.
    /// </summary>
    public async Task<StoredBatch> StoreAsync(
        QueuePosition? position, IReadOnlyList<MessageSubmitted> messages, bool firstAttempt, CancellationToken cancellationToken)
    {
        var entry = new Entry(position, messages) { RetryInPlace = firstAttempt };
        lock (_gate)
        {
            if (_stopped)
            {
                // The broker gets the batch back and hands it to the instance that takes over.
                throw new OperationCanceledException("The store is stopping.");
            }

            Enqueue(entry);
        }

        _arrived.Release();
        return await entry.Completion.Task.WaitAsync(cancellationToken);
    }

    private void Enqueue(Entry entry)
    {
        if (entry.Position is not { } at || _retiredChannels.TryGetValue(at.Channel, out _))
        {
            // A late call from a channel that was replaced: nothing after it on that channel will come.
            _anyOrder.Add(entry);
            return;
        }

        if (!ReferenceEquals(at.Channel, _channel))
        {
            // A new channel (the instance started, the broker restarted, or this instance became the active
            // consumer) numbers from 1; even its first deliveries can reach this point in either order. What still
            // waits from the old one is not held back by the new numbering.
            if (_channel is not null)
            {
                _retiredChannels.AddOrUpdate(_channel, null);
            }

            _anyOrder.AddRange(_inOrder.Values);
            _inOrder.Clear();
            _channel = at.Channel;
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                var ready = TakeReady(out var waitFor);
                if (ready.Count > 0)
                {
                    await StoreReadyAsync(ready, stoppingToken);
                    continue;
                }

                await (waitFor is { } wait ? _arrived.WaitAsync(wait, stoppingToken) : _arrived.WaitAsync(stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            // A bug: without the sequencer this instance cannot store, yet it would stay the queue's active consumer.
            // Stopping the host hands the queue to a standby.
            logger.LogCritical(exception, "The submit sequencer failed; stopping this instance");
            throw;
        }
        finally
        {
            lock (_gate)
            {
                _stopped = true;
                foreach (var entry in _anyOrder.Concat(_inOrder.Values))
                {
                    entry.Completion.TrySetCanceled(CancellationToken.None);
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

                var entry = _inOrder.Values[0];
                _inOrder.RemoveAt(0);
                entry.Late = first < _next;
                ready.Add(entry);
                if (!entry.Late)
                {
                    _next = first + 1;
                    _gapSeenAt = null;
                }
            }

            return ready;
        }
    }

    private async Task StoreReadyAsync(List<Entry> ready, CancellationToken stoppingToken)
    {
        try
        {
            var messages = ready.SelectMany(entry => entry.Messages).ToList();
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    Complete(ready, await TimedStoreAsync(messages, stoppingToken));
                    return;
                }
                catch (Exception exception) when (IsTransient(exception) && ready.TrueForAll(entry => entry.RetryInPlace)
                                                  && attempt <= options.Value.RetryLimit && !stoppingToken.IsCancellationRequested)
                {
                    var delay = Backoff.Exponential(attempt, options.Value.RetryMinInterval, options.Value.RetryMaxInterval);
                    logger.LogWarning(exception, "Storing {Count} submitted batches failed (try {Attempt}); trying again in {Delay}", ready.Count, attempt, delay);
                    await Task.Delay(delay, clock, stoppingToken);
                }
            }
        }
        catch (Exception exception) when (IsTransient(exception) && !stoppingToken.IsCancellationRequested)
        {
            // Out of tries here: the consume calls' own retries bring the batches back, in any order; the ones after
            // the first of them wait for it again.
            Rewind(ready);
            foreach (var entry in ready)
            {
                entry.Completion.TrySetException(exception);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            await StoreOneByOneAsync(ready, exception, stoppingToken);
        }
        finally
        {
            // Stopping mid-statement: the consume calls give their batches back to the broker.
            foreach (var entry in ready)
            {
                entry.Completion.TrySetCanceled(CancellationToken.None);
            }
        }
    }

    /// <summary>One bad batch must not fail the others stored with it: each is tried alone, in order.</summary>
    private async Task StoreOneByOneAsync(List<Entry> ready, Exception exception, CancellationToken stoppingToken)
    {
        if (ready.Count == 1)
        {
            ready[0].Completion.TrySetException(exception);
            return;
        }

        logger.LogWarning(exception, "Storing {Count} batches together failed; storing them one by one", ready.Count);
        foreach (var entry in ready)
        {
            try
            {
                entry.Completion.TrySetResult(await TimedStoreAsync(entry.Messages, stoppingToken));
            }
            catch (Exception single) when (single is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                entry.Completion.TrySetException(single);
            }
        }
    }

    private void Rewind(List<Entry> failed)
    {
        lock (_gate)
        {
            foreach (var entry in failed)
            {
                // A late batch (a retry already behind) is not waited for again: what came after it is stored.
                if (!entry.Late && entry.Position is { } at && ReferenceEquals(at.Channel, _channel) && at.Delivery < _next)
                {
                    _next = at.Delivery;
                    _gapSeenAt = null;
                }
            }
        }
    }

    /// <summary>One statement, timed for the store duration metric.</summary>
    private async Task<StoredBatch> TimedStoreAsync(IReadOnlyList<MessageSubmitted> messages, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var results = await store(messages, cancellationToken);
        return new StoredBatch(results, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>PostgreSQL away or restarting, a serialization failure, a timeout: worth the same statement again.</summary>
    internal static bool IsTransient(Exception exception) =>
        exception is NpgsqlException { IsTransient: true } or TimeoutException
        // The server shutting down or restarting ends the statement (Npgsql does not count these as transient).
        or PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown }
        || (exception.InnerException is { } inner && IsTransient(inner));

    /// <summary>Gives each batch its share of one statement's results.</summary>
    private static void Complete(List<Entry> ready, StoredBatch stored)
    {
        var offset = 0;
        foreach (var entry in ready)
        {
            var count = entry.Messages.Count;
            entry.Completion.TrySetResult(stored with { Results = stored.Results.Skip(offset).Take(count).ToList() });
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
        public TaskCompletionSource<StoredBatch> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The consume call's first attempt: a passing failure is retried here.</summary>
        public bool RetryInPlace { get; init; }

        /// <summary>Taken behind the expected delivery: a retry of a batch that failed after later ones were taken.</summary>
        public bool Late { get; set; }
    }
}
