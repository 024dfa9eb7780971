using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Relay;

/// <summary>Limits and timings of the relay protocol. Section "Relay".</summary>
public sealed class RelayOptions
{
    public const string Section = "Relay";

    /// <summary>Longest message text, in characters. Default 4,000.</summary>
    [Range(1, 100_000)]
    public int MaxTextLength { get; set; } = 4000;

    /// <summary>How far a client's sentAt may be from the server clock (either way). Default 24 h.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a publish waits for the broker's confirm: a send is then answered "unavailable", a flush of acks and
    /// reads is tried again at the next interval. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Sends of one connection waiting for the broker's confirm at once; the connection's next frame waits beyond
    /// that, so a flood slows its sender only. Default 32.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxSendsInFlight { get; set; } = 32;

    /// <summary>Most sends published as one broker message. Default 100.</summary>
    [Range(1, 10_000)]
    public int MaxSubmitBatch { get; set; } = 100;

    /// <summary>
    /// Publish lanes per instance, each with one batch waiting for its confirm at a time. A room always takes the same
    /// lane, so its messages reach the broker in the order this instance took them. Default 1: one lane's batches are
    /// larger, so there are fewer broker messages and confirms per chat message, and on 2 cores that measured lower
    /// latency at 1,000 msg/s than 4 lanes (docs/performance.md). More lanes raise the ceiling of one instance
    /// (at most <see cref="MaxSubmitBatch"/> per lane and confirm) when the broker's confirms are slow.
    /// </summary>
    [Range(1, 64)]
    public int SubmitPublishers { get; set; } = 1;

    /// <summary>Sends of all connections waiting to be published, split evenly over the lanes; beyond it a send waits. Default 10,000.</summary>
    [Range(1, 1_000_000)]
    public int SubmitQueueCapacity { get; set; } = 10_000;

    /// <summary>Rooms one connection may subscribe to at once. Default 16.</summary>
    [Range(1, 1000)]
    public int MaxSubscriptions { get; set; } = 16;

    /// <summary>Messages asked of Delivery per replay page. Default 500 (Delivery's largest page).</summary>
    [Range(1, 5000)]
    public int HistoryPageSize { get; set; } = 500;

    /// <summary>
    /// History requests to Delivery in flight at once; the rest wait their turn. MassTransit's request client can hold
    /// a thread-pool thread per request while its response endpoint starts, so a burst of subscribes to a fresh relay
    /// (every client of a restarted instance reconnecting) would otherwise starve the thread pool. Default 16.
    /// </summary>
    [Range(1, 1000)]
    public int HistoryConcurrency { get; set; } = 16;

    /// <summary>How long a replay or gap-fill request waits for Delivery. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan HistoryTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a message that arrived ahead of a missing seq waits for it before the relay fetches the gap from
    /// storage (two Delivery instances publish independently, so small reorderings are normal). Default 200 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan GapFillDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a pushed message may go unacknowledged before it is pushed again; it doubles per resend. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest pause between resends of one message. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan MaxResendInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Resends of one message after which the relay gives up on the connection and closes it (1008): the client
    /// reconnects and resumes from storage. Default 6 (1 + 2 + 4 + 8 + 16 + 30 s ≈ 1 min).
    /// </summary>
    [Range(1, 100)]
    public int MaxResends { get; set; } = 6;

    /// <summary>A pushed message not acknowledged for this long counts in chat_messages_undelivered. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan UndeliveredAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often due resends are looked for. Default 250 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan ResendSweepInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Messages one subscription may hold, waiting for a missing seq or for acks; a client that lets more pile up
    /// is closed (1013) and resumes from storage instead of growing the relay's memory. Default 10,000.
    /// </summary>
    [Range(100, 1_000_000)]
    public int MaxHeldPerSubscription { get; set; } = 10_000;

    /// <summary>
    /// How often the coalesced delivered/read cursors of all clients are sent to Delivery. Acks are cumulative, so
    /// one update per member and room per interval carries them all: the receipts a sender sees lag by up to this
    /// much, and Delivery takes one statement per relay per interval (per <see cref="MaxCursorBatch"/> updates). Default
    /// 500 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan CursorFlushInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Most cursor updates sent to Delivery as one broker message and stored by one statement. Larger means fewer
    /// commits, but one statement then holds more members' row locks. Default 500.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxCursorBatch { get; set; } = 500;
}
