using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Signaling.IceServers;

/// <summary>STUN/TURN servers handed to clients in <c>welcome</c>. Section "IceServers". Default: none (LAN/loopback only).</summary>
public sealed class IceServerOptions
{
    public const string Section = "IceServers";

    /// <summary>STUN URLs, e.g. stun:stun.example.org:3478.</summary>
    public string[] StunUrls { get; set; } = [];

    /// <summary>TURN URLs, e.g. turn:turn.example.org:3478?transport=udp.</summary>
    public string[] TurnUrls { get; set; } = [];

    /// <summary>
    /// Secret shared with the TURN server (coturn's static-auth-secret). When set, each client gets a
    /// time-limited username and an HMAC-derived password instead of a fixed credential.
    /// </summary>
    public string TurnSharedSecret { get; set; } = "";

    /// <summary>How long a TURN credential stays valid. Default 12 h.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan TurnCredentialLifetime { get; set; } = TimeSpan.FromHours(12);
}
