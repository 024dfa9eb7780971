using System.Security.Claims;
using ChatPlatform.ServiceDefaults.Authentication;

namespace ChatPlatform.ServiceDefaults.Tests;

public class ChatUserTests
{
    private static ClaimsPrincipal Principal(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(claim => new Claim(claim.Type, claim.Value)), "test"));

    [Fact]
    public void A_user_may_use_exactly_the_rooms_in_the_token()
    {
        var user = ChatUser.From(Principal(("sub", "alice"), ("rooms", "general"), ("rooms", "random")))!;

        user.Name.ShouldBe("alice");
        user.CanUse("general").ShouldBeTrue();
        user.CanUse("random").ShouldBeTrue();
        user.CanUse("secret").ShouldBeFalse();
        user.CanUse("General").ShouldBeFalse();
    }

    [Fact]
    public void The_star_grants_every_room()
    {
        ChatUser.From(Principal(("sub", "ops"), ("rooms", "*")))!.CanUse("anything").ShouldBeTrue();
    }

    [Fact]
    public void A_token_without_rooms_grants_none()
    {
        ChatUser.From(Principal(("sub", "bob")))!.CanUse("general").ShouldBeFalse();
    }

    [Fact]
    public void A_token_without_a_subject_is_no_user()
    {
        ChatUser.From(Principal(("rooms", "general"))).ShouldBeNull();
    }
}
