using System.Diagnostics.Metrics;
using ChatPlatform.Delivery.Storage;

namespace ChatPlatform.Delivery.Telemetry;

/// <summary>The storage and outbox metrics of the brief, every label value exported from start.</summary>
public sealed class DeliveryMetrics
{
    public const string MeterName = "ChatPlatform.Delivery";

    public static readonly string[] FailureReasons = ["error-queue"];

    private readonly Counter<long> _stored;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _storeDuration;
    private readonly Histogram<double> _dispatchLatency;
    private readonly Counter<long> _failures;
    private long _outboxPending;

    public DeliveryMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _stored = meter.CreateCounter<long>("chat_messages_stored", description: "Messages stored for the first time (each gets a seq).");
        _duplicates = meter.CreateCounter<long>("chat_messages_duplicate",
            description: "Messages that were already stored (a resend or a redelivery): nothing written.");
        _rejected = meter.CreateCounter<long>("chat_messages_rejected", description: "Messages refused, by reason (the error code the sender gets).");
        _storeDuration = meter.CreateHistogram("chat_message_store_duration", unit: "s",
            description: "Time to store one message: idempotency check, seq, message and outbox rows, commit.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _dispatchLatency = meter.CreateHistogram("chat_outbox_dispatch_latency", unit: "s",
            description: "Time from an outbox row's commit to the broker confirming its publish.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _failures = meter.CreateCounter<long>("chat_delivery_failures",
            description: "Messages Delivery gave up on, by reason (error-queue: moved to the error queue after every retry).");
        meter.CreateObservableGauge("chat_outbox_pending", () => Volatile.Read(ref _outboxPending),
            description: "Outbox rows older than the claim delay: committed, and not published from the hand-off at commit.");

        foreach (var reason in Rejections.All)
        {
            _rejected.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        foreach (var reason in FailureReasons)
        {
            _failures.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        _stored.Add(0);
        _duplicates.Add(0);
    }

    /// <summary>Milliseconds to seconds: 0.5 ms up to 5 s, dense where the targets are (10-50 ms).</summary>
    internal static readonly double[] LatencyBuckets =
        [0.0005, 0.001, 0.002, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5];

    public void Stored(TimeSpan duration)
    {
        _stored.Add(1);
        _storeDuration.Record(duration.TotalSeconds);
    }

    public void Duplicate() => _duplicates.Add(1);

    public void Rejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Dispatched(TimeSpan latency) => _dispatchLatency.Record(Math.Max(0, latency.TotalSeconds));

    public void MovedToErrorQueue() => _failures.Add(1, new KeyValuePair<string, object?>("reason", "error-queue"));

    public void OutboxPending(long count) => Volatile.Write(ref _outboxPending, count);
}
