using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Delivery;

/// <summary>Section "Delivery".</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Delivery";

    /// <summary>Largest (and default) history page. Default 500.</summary>
    [Range(1, 5000)]
    public int HistoryPageSize { get; set; } = 500;

    /// <summary>Longest message text Delivery stores, in characters (the Relay checks first). Default 4,000.</summary>
    [Range(1, 4000)]
    public int MaxTextLength { get; set; } = 4000;

    /// <summary>
    /// Submitted batches one instance takes from the queue at once. They are stored in the order the queue holds
    /// them, whatever waits together in one statement, one statement at a time. Default 16.
    /// </summary>
    [Range(1, 1024)]
    public int StoreConcurrency { get; set; } = 16;

    /// <summary>
    /// How long a submitted batch waits for one that was before it in the queue but has not reached the store yet.
    /// The broker hands batches to concurrent consume calls, and on a busy or cold instance one can lag the next by
    /// tens of milliseconds; one that never comes (the endpoint could not read it, or its consume failed before the
    /// store and its retries ran out) holds the rest this long, then they are stored without it. Default 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan StoreOrderWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Retries of a message whose store failed (PostgreSQL away, deadlock) before it goes to the error queue. Default 10.</summary>
    [Range(0, 100)]
    public int RetryLimit { get; set; } = 10;

    /// <summary>
    /// Retries of a history request that failed (PostgreSQL away), on the <see cref="RetryMinInterval"/> schedule. Few:
    /// the relay that asked waits only its own history timeout (5 s by default) and tells its client to subscribe
    /// again, sooner when the fault comes back sooner; an answer after that reaches nobody. A request that still
    /// fails is answered with a fault and dropped: it is a read, nothing is lost. Default 2.
    /// </summary>
    [Range(0, 10)]
    public int HistoryRetryLimit { get; set; } = 2;

    /// <summary>
    /// How long an answer to a history request waits for the broker's confirm before it is dropped. By then the relay
    /// that asked has given up (it waits 5 s from its request by default, <c>Relay:HistoryTimeout</c>), and a confirm
    /// lost in a broker restart would otherwise hold one of the endpoint's consumers for good. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan HistoryResponseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First retry delay; each next one doubles, up to <see cref="RetryMaxInterval"/>. Default 200 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan RetryMinInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest retry delay. Default 10 s (so ten retries span about a minute).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Outbox rows claimed and published per round. Default 256.</summary>
    [Range(1, 10_000)]
    public int OutboxBatchSize { get; set; } = 256;

    /// <summary>How often the dispatcher claims rows nobody handed over (another instance crashed, a publish failed). Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan OutboxPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Age at which a row becomes claimable by any instance's poll. Until then it belongs to the instance that wrote
    /// it, which publishes it straight from the commit; a row still unpublished by then (its instance died, the
    /// broker failed) is left to the claim. Default 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan OutboxClaimDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The least time between two deletes of published rows, so one statement deletes many rounds' rows instead of a
    /// statement and a commit per round. At most half of <see cref="OutboxClaimDelay"/>: a row still waiting for its
    /// delete when it reaches the claim delay is published again by the claim (a repeat the consumers drop, never a
    /// loss). 0 deletes after every round. Default 250 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan OutboxDeleteInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Committed rows waiting in memory for their publish; past this they wait in the table for the claim. Default 10,000.</summary>
    [Range(1, 1_000_000)]
    public int OutboxHandoffCapacity { get; set; } = Outbox.OutboxSignal.DefaultCapacity;

    /// <summary>How long one round of publishes may wait for the broker's confirms. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan OutboxPublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest pause after failed rounds (broker or database away); it doubles from 100 ms. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan OutboxMaxBackoff { get; set; } = TimeSpan.FromSeconds(5);
}
