using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Signaling.IceServers;

/// <summary>One entry of RTCConfiguration.iceServers, as the browser expects it.</summary>
public sealed record IceServer(string[] Urls, string? Username = null, string? Credential = null);

public sealed class IceServerProvider(IOptions<IceServerOptions> options, TimeProvider clock)
{
    public IReadOnlyList<IceServer> For(string user)
    {
        var settings = options.Value;
        var servers = new List<IceServer>();
        if (settings.StunUrls.Length > 0)
        {
            servers.Add(new IceServer(settings.StunUrls));
        }

        if (settings.TurnUrls.Length > 0 && settings.TurnSharedSecret.Length > 0)
        {
            var (username, credential) = TurnCredential(
                settings.TurnSharedSecret, user, clock.GetUtcNow() + settings.TurnCredentialLifetime);
            servers.Add(new IceServer(settings.TurnUrls, username, credential));
        }

        return servers;
    }

    /// <summary>
    /// coturn's REST API scheme: username "expiry:user", password base64(HMAC-SHA1(secret, username)),
    /// so the TURN server can check it without a call back to us, and it expires on its own.
    /// </summary>
    internal static (string Username, string Credential) TurnCredential(string secret, string user, DateTimeOffset expires)
    {
        var username = $"{expires.ToUnixTimeSeconds()}:{user}";
#pragma warning disable CA5350 // SHA-1 is what the TURN REST scheme specifies; HMAC-SHA1 is not broken as a MAC.
        var mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username));
#pragma warning restore CA5350
        return (username, Convert.ToBase64String(mac));
    }
}
