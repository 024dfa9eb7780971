using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Gateway;

/// <summary>The public edge. Section "Gateway". Routes and backends are YARP's own section "ReverseProxy".</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Folder of the built web client served at "/". Default: wwwroot beside the gateway.</summary>
    public string WebRoot { get; set; } = "";

    /// <summary>PFX file of the real TLS certificate. Empty: a self-signed development certificate (Development only).</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>Password of <see cref="CertificatePath"/>.</summary>
    public string CertificatePassword { get; set; } = "";

    /// <summary>Where the development certificate is kept, created on first run. Default: dev-cert.pfx beside the gateway.</summary>
    public string DevCertificatePath { get; set; } = "";

    /// <summary>
    /// Origins allowed to open WebSockets, besides the gateway's own origin. A browser always sends Origin on a
    /// WebSocket upgrade, so any other origin is refused (403): another site cannot ride on a user's connection.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Largest request body. Default 64 KiB.</summary>
    [Range(1024, 100 * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>WebSocket upgrades per client IP: burst, then this many per second. Defaults 100 and 20.</summary>
    [Required]
    public TokenBucket UpgradeRate { get; set; } = new() { Burst = 100, PerSecond = 20 };

    /// <summary>Token requests per client IP: burst, then this many per second. Defaults 30 and 5.</summary>
    [Required]
    public TokenBucket TokenRate { get; set; } = new() { Burst = 30, PerSecond = 5 };
}

public sealed class TokenBucket
{
    [Range(1, 1_000_000)]
    public int Burst { get; set; }

    [Range(1, 1_000_000)]
    public int PerSecond { get; set; }
}
