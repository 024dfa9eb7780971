using System.Security.Claims;

namespace ChatPlatform.ServiceDefaults.Authentication;

/// <summary>The authenticated bearer of a token: its user and the rooms it may use (<c>*</c> for all).</summary>
public sealed record ChatUser(string Name, IReadOnlySet<string> Rooms)
{
    public const string UserClaim = "sub";
    public const string RoomsClaim = "rooms";
    public const string AllRooms = "*";

    public bool CanUse(string roomId) => Rooms.Contains(AllRooms) || Rooms.Contains(roomId);

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
