using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Signaling;

/// <summary>Limits and timings of the signaling protocol. Section "Signaling".</summary>
public sealed class SignalingOptions
{
    public const string Section = "Signaling";

    /// <summary>Rooms one connection may be joined to at once. Default 16.</summary>
    [Range(1, 1000)]
    public int MaxRoomsPerConnection { get; set; } = 16;

    /// <summary>Largest SDP of an offer or answer, in bytes. Default 16 KiB.</summary>
    [Range(256, 1024 * 1024)]
    public int MaxSdpBytes { get; set; } = 16 * 1024;

    /// <summary>Largest ICE candidate line, in bytes. Default 1 KiB.</summary>
    [Range(64, 64 * 1024)]
    public int MaxCandidateBytes { get; set; } = 1024;

    /// <summary>How often an instance announces that it is alive, with its members. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a starting instance listens for the others' snapshots before it reports ready, so its first
    /// clients see every room's members in <c>joined</c>. Default 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan PresenceWarmup { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long one presence publish may wait for the broker's confirm before it is tried again. A confirm lost with a
    /// broker restart would otherwise hold every later presence event back, since they leave one at a time, in order.
    /// Presence is idempotent (a join or leave seen twice changes nothing), so a repeat is harmless. An RTC state
    /// report waits as long, then is dropped: it is informational, and its connection's next frame waits for it.
    /// Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Longest pause between tries of a presence publish that failed or timed out; it doubles from 100 ms. Kept
    /// short because every later presence event and forwarded signal waits behind it: once the broker is back, the
    /// pause adds at most this much to the wait of the try in flight (up to <see cref="PublishTimeout"/>). Default 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PresenceRetryMaxBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>An instance not heard from for this long is dead and its peers are announced as left. Default 25 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.300", "00:30:00")]
    public TimeSpan InstanceTimeout { get; set; } = TimeSpan.FromSeconds(25);
}
