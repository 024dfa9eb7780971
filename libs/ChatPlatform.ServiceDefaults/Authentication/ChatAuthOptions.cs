using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.ServiceDefaults.Authentication;

/// <summary>How every service validates (and the gateway, in development, issues) JWTs. Section "Auth".</summary>
public sealed class ChatAuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// The HS256 key used when no <see cref="Authority"/> and no <see cref="SigningKey"/> is configured in Development.
    /// It is public, so it is refused outside Development.
    /// </summary>
    public const string DevOnlySigningKey = "dev-only-chatplatform-signing-key-never-use-in-production";

    /// <summary>Expected <c>iss</c>. Default: chatplatform-dev.</summary>
    [Required]
    public string Issuer { get; set; } = "chatplatform-dev";

    /// <summary>Expected <c>aud</c>. Default: chatplatform.</summary>
    [Required]
    public string Audience { get; set; } = "chatplatform";

    /// <summary>Symmetric signing key (HS256), at least 32 bytes. Empty: the dev key in Development, else <see cref="Authority"/>.</summary>
    public string SigningKey { get; set; } = "";

    /// <summary>External issuer (OpenID Connect authority); its JWKS supplies the signing keys. Empty: none.</summary>
    public string Authority { get; set; } = "";

    /// <summary>JWKS/metadata must be fetched over HTTPS. Default: true.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Accepted signing algorithms. Default: HS256 with a signing key, RS256/ES256 with an authority.</summary>
    public string[] Algorithms { get; set; } = [];

    /// <summary>Allowed clock difference on exp/nbf. Default 30 s, at most 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The gateway issues dev tokens at POST /auth/token. Default: on in Development only; refused in Production.</summary>
    public bool? DevTokens { get; set; }

    /// <summary>Lifetime of a dev token. Default 1 h.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan DevTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The key tokens are checked with: the configured one, or the dev key in Development.</summary>
    public string EffectiveSigningKey(bool isDevelopment) =>
        SigningKey.Length > 0 ? SigningKey
        : Authority.Length == 0 && isDevelopment ? DevOnlySigningKey
        : "";

    public bool DevTokensEnabled(bool isDevelopment) => DevTokens ?? isDevelopment;

    public string[] EffectiveAlgorithms(bool isDevelopment) =>
        Algorithms.Length > 0 ? Algorithms
        : EffectiveSigningKey(isDevelopment).Length > 0 ? ["HS256"]
        : ["RS256", "ES256"];

    /// <summary>Why these options cannot run in this environment, or null when they can.</summary>
    public string? Problem(bool isDevelopment, bool isProduction)
    {
        var key = EffectiveSigningKey(isDevelopment);
        if (key.Length == 0 && Authority.Length == 0)
        {
            return "Auth: set Auth:SigningKey or Auth:Authority (the dev key is only used in Development).";
        }

        if (key.Length > 0 && System.Text.Encoding.UTF8.GetByteCount(key) < 32)
        {
            return "Auth:SigningKey must be at least 32 bytes for HS256.";
        }

        if (isProduction && key.Contains("dev-only", StringComparison.OrdinalIgnoreCase))
        {
            return "Auth: a dev-only signing key is refused in Production.";
        }

        if (isProduction && DevTokensEnabled(isDevelopment))
        {
            return "Auth:DevTokens is refused in Production: tokens must come from an external issuer.";
        }

        if (DevTokensEnabled(isDevelopment) && key.Length == 0)
        {
            return "Auth:DevTokens needs a signing key to sign with.";
        }

        return null;
    }
}
