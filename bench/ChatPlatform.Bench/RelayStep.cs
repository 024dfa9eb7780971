using System.Collections.Concurrent;

namespace ChatPlatform.Bench;

/// <summary>
/// A message the bench sent: the step it belongs to, when it was scheduled on the bench's monotonic clock, and its
/// place among its sender's messages (to tell whether the room's order kept the sender's own).
/// </summary>
internal readonly record struct SentMessage(RelayStep Step, double ScheduledMilliseconds, string Sender, long SenderOrdinal);

/// <summary>
/// One timed run at one rate in rooms of its own. The readers of every client record into it concurrently, so the
/// counters are interlocked and the latencies locked (inside <see cref="Latency"/>). Errors are locked with the
/// moment the result is taken, so an error lands in the printed result or among the run's late errors, never both.
/// </summary>
internal sealed class RelayStep(int rate, int seconds, IReadOnlyList<string> roomIds, IReadOnlyList<int> members, ErrorCounts lateErrors)
{
    private readonly Lock _errorsGate = new();
    private readonly ErrorCounts _errors = new();
    private bool _reported;
    private long _scheduled;
    private long _sent;
    private long _accepted;
    private long _expected;
    private long _received;
    private long _duplicated;
    private long _outOfOrder;
    private long _outOfSendOrder;
    private long _lastSentTicks;
    private long _lastReceivedTicks;

    public int Rate => rate;

    public int Seconds => seconds;

    public long Total => (long)rate * seconds;

    public IReadOnlyList<string> RoomIds => roomIds;

    /// <summary>Members of each room, by the room's index.</summary>
    public IReadOnlyList<int> Members => members;

    /// <summary>When the first message is scheduled, on the bench clock.</summary>
    public double StartMilliseconds { get; set; }

    public Latency EndToEnd { get; } = new();

    public Latency Accepted { get; } = new();

    /// <summary>Scheduled → the bench starts writing: its own timer and socket queue, included in every latency above it.</summary>
    public Latency SendLag { get; } = new();

    /// <summary>End-to-end latency by the second (of the step) in which each message was scheduled.</summary>
    public Latency[] PerSecond { get; } = Enumerable.Range(0, seconds).Select(_ => new Latency()).ToArray();

    public long Expected => Interlocked.Read(ref _expected);

    public long Received => Interlocked.Read(ref _received);

    public void RecordScheduled(int roomMembers)
    {
        Interlocked.Increment(ref _scheduled);
        Interlocked.Add(ref _expected, roomMembers);
    }

    public void RecordSendLag(double scheduledMilliseconds, double nowMilliseconds) =>
        SendLag.Add(nowMilliseconds - scheduledMilliseconds);

    public void RecordSent(double nowMilliseconds)
    {
        Interlocked.Increment(ref _sent);
        RaiseTo(ref _lastSentTicks, nowMilliseconds);
    }

    public void RecordAccepted(double scheduledMilliseconds, double nowMilliseconds)
    {
        Interlocked.Increment(ref _accepted);
        Accepted.Add(nowMilliseconds - scheduledMilliseconds);
    }

    public void RecordDelivery(double scheduledMilliseconds, double nowMilliseconds)
    {
        Interlocked.Increment(ref _received);
        RaiseTo(ref _lastReceivedTicks, nowMilliseconds);
        var latency = nowMilliseconds - scheduledMilliseconds;
        EndToEnd.Add(latency);
        var second = (int)((scheduledMilliseconds - StartMilliseconds) / 1000);
        PerSecond[Math.Clamp(second, 0, PerSecond.Length - 1)].Add(latency);
    }

    public void RecordDuplicate() => Interlocked.Increment(ref _duplicated);

    public void RecordOutOfOrder() => Interlocked.Increment(ref _outOfOrder);

    public void RecordOutOfSendOrder() => Interlocked.Increment(ref _outOfSendOrder);

    /// <summary>Counts an error frame of this step; once its result was taken, as a late error of the run instead: it arrived after its step was reported.</summary>
    public void RecordError(string code)
    {
        lock (_errorsGate)
        {
            (_reported ? lateErrors : _errors).Add(code);
        }
    }

    public RelayStepResult Result()
    {
        IReadOnlyList<KeyValuePair<string, long>> errors;
        lock (_errorsGate)
        {
            _reported = true;
            errors = _errors.ByCode();
        }

        var sent = Interlocked.Read(ref _sent);
        var received = Received;
        var sendingSeconds = (Interlocked.Read(ref _lastSentTicks) / 1000.0 - StartMilliseconds) / 1000;
        var receivingSeconds = (Interlocked.Read(ref _lastReceivedTicks) / 1000.0 - StartMilliseconds) / 1000;
        return new RelayStepResult(
            Rate: rate,
            Scheduled: Interlocked.Read(ref _scheduled),
            Sent: sent,
            Accepted: Interlocked.Read(ref _accepted),
            Errors: errors,
            Expected: Expected,
            Received: received,
            Duplicated: Interlocked.Read(ref _duplicated),
            OutOfOrder: Interlocked.Read(ref _outOfOrder),
            OutOfSendOrder: Interlocked.Read(ref _outOfSendOrder),
            SendRate: sendingSeconds > 0 ? sent / sendingSeconds : double.NaN,
            DeliveryRate: receivingSeconds > 0 ? received / receivingSeconds : double.NaN,
            EndToEndSummary: EndToEnd.Summary(),
            P50: EndToEnd.Percentile(50),
            P95: EndToEnd.Percentile(95),
            P99: EndToEnd.Percentile(99),
            Max: EndToEnd.Percentile(100),
            AcceptedP50: Accepted.Percentile(50),
            AcceptedP99: Accepted.Percentile(99),
            SendLagP50: SendLag.Percentile(50),
            SendLagP99: SendLag.Percentile(99),
            PerSecondP50: PerSecond.Select(second => second.Percentile(50)).ToArray(),
            PerSecondP99: PerSecond.Select(second => second.Percentile(99)).ToArray(),
            PerSecondMax: PerSecond.Select(second => second.Percentile(100)).ToArray());
    }

    /// <summary>Keeps the latest time in microseconds; readers on several threads race to set it.</summary>
    private static void RaiseTo(ref long latestMicroseconds, double nowMilliseconds)
    {
        var now = (long)(nowMilliseconds * 1000);
        var seen = Interlocked.Read(ref latestMicroseconds);
        while (now > seen)
        {
            var previous = Interlocked.CompareExchange(ref latestMicroseconds, now, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}

/// <summary>What one step measured; latencies in milliseconds (NaN when there was no sample).</summary>
internal sealed record RelayStepResult(
    int Rate,
    long Scheduled,
    long Sent,
    long Accepted,
    IReadOnlyList<KeyValuePair<string, long>> Errors,
    long Expected,
    long Received,
    long Duplicated,
    long OutOfOrder,
    long OutOfSendOrder,
    double SendRate,
    double DeliveryRate,
    string EndToEndSummary,
    double P50,
    double P95,
    double P99,
    double Max,
    double AcceptedP50,
    double AcceptedP99,
    double SendLagP50,
    double SendLagP99,
    IReadOnlyList<double> PerSecondP50,
    IReadOnlyList<double> PerSecondP99,
    IReadOnlyList<double> PerSecondMax)
{
    /// <summary>The machine's load while the step was sending; null where Linux's counters cannot be read.</summary>
    public MachineLoad? Machine { get; init; }

    public long Lost => Math.Max(0, Expected - Received);

    public long ErrorCount => Errors.Sum(error => error.Value);

    /// <summary>The find-max criterion: every delivery arrived exactly once, and p99 stayed within 50 ms.</summary>
    public bool Sustained => Lost == 0 && Duplicated == 0 && P99 <= RelayBench.P99LimitMilliseconds;
}

/// <summary>Error frames counted by their code, from every client's reader at once.</summary>
internal sealed class ErrorCounts
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Add(string code) => _counts.AddOrUpdate(code, 1, (_, count) => count + 1);

    public IReadOnlyList<KeyValuePair<string, long>> ByCode() => _counts.OrderBy(count => count.Key, StringComparer.Ordinal).ToList();
}
