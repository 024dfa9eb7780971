using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChatPlatform.IntegrationTests.Infrastructure;

public static class Tokens
{
    public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt);

    /// <summary>A real token from the gateway's dev issuer.</summary>
    public static async Task<string> IssueAsync(Uri gateway, string user, params string[] rooms)
    {
        using var http = new HttpClient { BaseAddress = gateway };
        var response = await http.PostAsJsonAsync("/auth/token", new { user, rooms });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TokenResponse>())!.Token;
    }

    /// <summary>A token made here, to test what the platform refuses: each parameter can be made wrong.</summary>
    public static string Forge(
        string user = "mallory",
        string[]? rooms = null,
        string signingKey = ChatAuthOptions.DevOnlySigningKey,
        string issuer = "chatplatform-dev",
        string audience = "chatplatform",
        DateTime? expires = null)
    {
        var now = DateTime.UtcNow;
        var expiry = expires ?? now.AddMinutes(10);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = expiry.AddMinutes(-20),
            NotBefore = expiry.AddMinutes(-20),
            Expires = expiry,
            Claims = new Dictionary<string, object> { ["sub"] = user, ["rooms"] = rooms ?? ["general"] },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>An unsigned token ("alg":"none") with otherwise valid claims.</summary>
    public static string WithoutSignature(string user = "mallory")
    {
        static string Encode(object value) => Base64UrlEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(value));
        var expires = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        return $"{Encode(new { alg = "none", typ = "JWT" })}.{Encode(new { sub = user, rooms = new[] { "general" }, iss = "chatplatform-dev", aud = "chatplatform", exp = expires })}.";
    }
}
