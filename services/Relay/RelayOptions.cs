using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Relay;

/// <summary>Limits of the relay protocol. Section "Relay".</summary>
public sealed class RelayOptions
{
    public const string Section = "Relay";

    /// <summary>Longest message text, in characters. Default 4,000.</summary>
    [Range(1, 100_000)]
    public int MaxTextLength { get; set; } = 4000;

    /// <summary>How far a client's sentAt may be from the server clock (either way). Default 24 h.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a send waits for the broker's confirm before the client is told "unavailable". Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
