using System.Text;
using System.Text.RegularExpressions;
using ChatPlatform.Gateway.Security;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChatPlatform.Gateway.Auth;

public sealed record TokenRequest(string? User, string[]? Rooms);

public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt);

/// <summary>POST /auth/token: short-lived HS256 tokens for development and tests. Never mapped in Production.</summary>
public static partial class DevTokenEndpoints
{
    public const int MaxRooms = 50;

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex NamePattern();

    public static void MapDevTokens(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/auth/token", Issue).RequireRateLimiting(RateLimiting.Tokens).AllowAnonymous();

    internal static Results<Ok<TokenResponse>, ValidationProblem> Issue(
        TokenRequest request, IOptions<ChatAuthOptions> options, IHostEnvironment environment, TimeProvider clock)
    {
        var problems = Validate(request);
        if (problems.Count > 0)
        {
            return TypedResults.ValidationProblem(problems, title: "The token request is not valid.");
        }

        var auth = options.Value;
        var now = clock.GetUtcNow();
        var expires = now + auth.DevTokenLifetime;
        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(auth.EffectiveSigningKey(environment.IsDevelopment())));
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = auth.Issuer,
            Audience = auth.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [ChatUser.UserClaim] = request.User!,
                [ChatUser.RoomsClaim] = request.Rooms!.Distinct(StringComparer.Ordinal).ToArray(),
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
            },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        return TypedResults.Ok(new TokenResponse(token, expires));
    }

    internal static Dictionary<string, string[]> Validate(TokenRequest request)
    {
        var problems = new Dictionary<string, string[]>();
        if (request.User is null || !NamePattern().IsMatch(request.User))
        {
            problems["user"] = ["1-64 characters of A-Z a-z 0-9 _ . -"];
        }

        if (request.Rooms is null || request.Rooms.Length is 0 or > MaxRooms)
        {
            problems["rooms"] = [$"1-{MaxRooms} room ids, or [\"*\"] for every room"];
        }
        else if (request.Rooms.Any(room => room != ChatUser.AllRooms && (room is null || !NamePattern().IsMatch(room))))
        {
            problems["rooms"] = ["each room id is 1-64 characters of A-Z a-z 0-9 _ . -, or \"*\""];
        }

        return problems;
    }
}
