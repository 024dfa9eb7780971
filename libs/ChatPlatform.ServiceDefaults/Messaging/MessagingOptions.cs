using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.ServiceDefaults.Messaging;

/// <summary>Broker settings. The connection itself is <c>ConnectionStrings:RabbitMq</c> (an amqp:// URI).</summary>
public sealed class MessagingOptions
{
    public const string Section = "Messaging";
    public const string ConnectionStringName = "RabbitMq";

    /// <summary>amqp://user:password@host:port/vhost. Default: the local broker with the guest user.</summary>
    [Required]
    public string ConnectionString { get; set; } = "amqp://guest:guest@127.0.0.1:5672/";

    /// <summary>How long start-up waits for the bus before the process gives up. Default 60 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long shutdown waits for consumers to finish. Default 15 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long shutdown lets running consumers finish before it cancels them; a cancelled message goes back to the
    /// broker, which hands it to another instance (a store that keeps failing while PostgreSQL is away would otherwise
    /// hold the stop for the whole <see cref="StopTimeout"/>). At most <see cref="StopTimeout"/>. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ConsumerStopTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>AMQP heartbeat: a dead broker connection is noticed within about twice this. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The first wait before the bus tries a lost broker again; each later wait doubles, up to
    /// <see cref="MaxReconnectDelay"/>, each ±25 %, and MassTransit adds 1 s to every one. MassTransit never starts
    /// a receive endpoint's schedule over, so once about four tries have failed in a process's life every later try
    /// waits the cap. At least 50 ms: MassTransit computes the steps in whole milliseconds when the bus is built, and
    /// a step of about a millisecond would never reach the cap. Default 250 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest wait between tries while the broker stays away: every service is back within about 1.25 × this
    /// plus 1 s of the broker (3.5 s by default), however long and however many the outages. Each try is a connection
    /// attempt per receive endpoint, logged as a warning while the broker is away. At least
    /// <see cref="ReconnectDelay"/>. Default 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00")]
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(2);
}
