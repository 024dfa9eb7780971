using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.ServiceDefaults.WebSockets;

/// <summary>Limits of every client WebSocket (Relay and Signaling). Section "WebSockets".</summary>
public sealed class ChatWebSocketOptions
{
    public const string Section = "WebSockets";

    /// <summary>Largest message a client may send; a larger one closes the socket with 1009. Default 64 KiB.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The buffer a connection borrows from the shared pool when a message starts to arrive, and gives back once it is
    /// handled; a waiting connection holds none. A message that does not fit moves to a buffer of the frame limit.
    /// Most frames (acks, short messages) fit. Default 1 KiB.
    /// </summary>
    [Range(256, 16 * 1024 * 1024)]
    public int ReceiveBufferBytes { get; set; } = 1024;

    /// <summary>How often the server pings. Default 25 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>How long a ping may go unanswered before the peer is dropped (so ~35 s in all). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan PongTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Frames waiting to be written to one client; a reader further behind is disconnected (1008). Default 1024.</summary>
    [Range(1, 1_000_000)]
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>Frames a client may send at once before the rate applies. Default 60.</summary>
    [Range(1, 100_000)]
    public int FrameBurst { get; set; } = 60;

    /// <summary>Sustained frames per second per connection; beyond it frames get error rate-limited. Default 20.</summary>
    [Range(1, 100_000)]
    public int FramesPerSecond { get; set; } = 20;

    /// <summary>Rate-limited frames in a row after which the socket is closed (1008). Default 50.</summary>
    [Range(1, 100_000)]
    public int MaxRateLimitedFrames { get; set; } = 50;

    /// <summary>How long a closing handshake may take before the socket is aborted. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
