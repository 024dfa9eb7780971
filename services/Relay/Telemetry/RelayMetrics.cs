using System.Diagnostics.Metrics;
using ChatPlatform.Relay.Subscriptions;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Telemetry;

/// <summary>The relay-side metrics of the brief, every label value exported from start.</summary>
public sealed class RelayMetrics
{
    public const string MeterName = "ChatPlatform.Relay";

    public static readonly string[] RejectReasons =
        [ErrorCodes.Invalid, ErrorCodes.Forbidden, ErrorCodes.TooLarge, ErrorCodes.RateLimited];

    /// <summary>unconfirmed: the broker did not confirm a send; unacked: a client never acknowledged a push.</summary>
    public static readonly string[] FailureReasons = ["unconfirmed", "unacked", "history-unavailable", "replay-failed"];

    private readonly Counter<long> _accepted;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _pushed;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _deliveryLatency;

    public RelayMetrics(IMeterFactory meterFactory, ConnectionRegistry connections, SubscriptionRegistry subscriptions,
        IOptions<RelayOptions> options, TimeProvider clock)
    {
        var meter = meterFactory.Create(MeterName);
        _accepted = meter.CreateCounter<long>("chat_messages_accepted", description: "Messages the broker confirmed (the sender got \"accepted\").");
        _rejected = meter.CreateCounter<long>("chat_messages_rejected", description: "Frames refused by the relay, by reason (the error code sent).");
        _pushed = meter.CreateCounter<long>("chat_messages_pushed", description: "Stored messages pushed to a client (first pushes, not resends).");
        _retries = meter.CreateCounter<long>("chat_delivery_retries", description: "Pushes repeated because the client did not acknowledge in time.");
        _failures = meter.CreateCounter<long>("chat_delivery_failures", description: "Deliveries the relay gave up on, by reason.");
        _deliveryLatency = meter.CreateHistogram("chat_delivery_latency", unit: "s",
            description: "Relay path: from the sender's sentAt to the receiver's ack of the stored message.",
            advice: new InstrumentAdvice<double>
            {
                HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
            });
        meter.CreateObservableGauge("chat_relay_send_queue_length",
            () => connections.Sessions.Sum(session => session.QueueLength),
            description: "Frames queued to clients and not yet written, summed over this instance's connections.");
        meter.CreateObservableGauge("chat_messages_undelivered",
            () => subscriptions.CountUndelivered(clock.GetUtcNow(), options.Value.UndeliveredAfter),
            description: "Stored messages pushed to an online member and not acknowledged for 30 s (the loss alarm).");

        _accepted.Add(0);
        _pushed.Add(0);
        _retries.Add(0);
        foreach (var reason in RejectReasons)
        {
            _rejected.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        foreach (var reason in FailureReasons)
        {
            _failures.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void Accepted() => _accepted.Add(1);

    public void Rejected(string reason) =>
        _rejected.Add(1, new KeyValuePair<string, object?>("reason", RejectReasons.Contains(reason) ? reason : ErrorCodes.Invalid));

    public void Pushed(int count = 1) => _pushed.Add(count);

    public void Retried(int count) => _retries.Add(count);

    public void Failed(string reason) => _failures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Delivered(TimeSpan latency) => _deliveryLatency.Record(Math.Max(0, latency.TotalSeconds));
}
