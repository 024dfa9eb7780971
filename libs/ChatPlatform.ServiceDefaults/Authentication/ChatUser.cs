using System.Security.Claims;

namespace ChatPlatform.ServiceDefaults.Authentication;

/// <summary>The authenticated bearer of a token: its user and the rooms it may use (<c>*</c> for all).</summary>
public sealed record ChatUser(string Name, IReadOnlySet<string> Rooms)
{
    public const string UserClaim = "sub";
    public const string RoomsClaim = "rooms";
    public const string AllRooms = "*";

    public bool CanUse(string roomId) => Rooms.Contains(AllRooms) || Rooms.Contains(roomId);

    /// <summary>
    /// A principal holding only what <see cref="From"/> reads: the user and the rooms. A validated token's principal
    /// also holds the token itself, its other claims and their JSON properties, and a WebSocket keeps its request's
    /// principal for as long as it is open (about 3 KiB of every idle connection).
    /// </summary>
    public static ClaimsPrincipal Compact(ClaimsPrincipal principal)
    {
        var kept = principal.Claims
            .Where(claim => claim.Type is UserClaim or RoomsClaim)
            .Select(claim => new Claim(claim.Type, claim.Value));
        var identity = principal.Identity as ClaimsIdentity;
        return new ClaimsPrincipal(new ClaimsIdentity(
            kept,
            principal.Identity?.AuthenticationType,
            identity?.NameClaimType ?? UserClaim,
            identity?.RoleClaimType ?? ClaimTypes.Role));
    }

    public static ChatUser? From(ClaimsPrincipal principal)
    {
        var name = principal.FindFirst(UserClaim)?.Value;
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        var rooms = principal.FindAll(RoomsClaim).Select(claim => claim.Value).ToHashSet(StringComparer.Ordinal);
        return new ChatUser(name, rooms);
    }
}
