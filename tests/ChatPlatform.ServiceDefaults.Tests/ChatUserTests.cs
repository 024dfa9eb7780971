using System.Security.Claims;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;

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

    [Fact]
    public void A_compact_principal_keeps_the_user_and_the_rooms_and_nothing_else()
    {
        var validated = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim("sub", "alice"), new Claim("rooms", "general"), new Claim("rooms", "random"),
             new Claim("iss", "chat-dev"), new Claim("exp", "1764000000", ClaimValueTypes.Integer64), new Claim("jti", "x")],
            "AuthenticationTypes.Federation", "sub", "role"));

        var compact = ChatUser.Compact(validated);

        compact.Claims.Select(claim => (claim.Type, claim.Value))
            .ShouldBe([("sub", "alice"), ("rooms", "general"), ("rooms", "random")]);
        compact.Identity!.IsAuthenticated.ShouldBeTrue();
        compact.Identity.AuthenticationType.ShouldBe("AuthenticationTypes.Federation");
        compact.Identity.Name.ShouldBe("alice");
        var user = ChatUser.From(compact)!;
        user.Name.ShouldBe("alice");
        user.Rooms.Order().ShouldBe(["general", "random"]);
    }

    [Fact]
    public async Task Every_service_keeps_the_compact_principal_of_a_validated_token()
    {
        var jwt = new JwtBearerOptions();
        AuthenticationExtensions.Configure(jwt, new ChatAuthOptions(), isDevelopment: true);
        var validated = new TokenValidatedContext(
            new DefaultHttpContext(), new AuthenticationScheme(JwtBearerDefaults.AuthenticationScheme, null, typeof(JwtBearerHandler)), jwt)
        {
            Principal = Principal(("sub", "alice"), ("rooms", "general"), ("jti", "x"), ("iat", "1764000000")),
        };

        await jwt.Events.TokenValidated(validated);

        validated.Principal!.Claims.Select(claim => claim.Type).ShouldBe(["sub", "rooms"]);
    }

    [Theory]
    [InlineData("?access_token=abc.def-ghi", "abc.def-ghi")]
    [InlineData("?x=1&access_token=abc%2Edef&y=2", "abc.def")]
    [InlineData("?x=1", null)]
    [InlineData("", null)]
    [InlineData("?access_tokens=abc", null)]
    [InlineData("?access_token=first&access_token=second", "first")]
    [InlineData("?Access_Token=abc", null)]
    [InlineData("?access%5Ftoken=abc", null)]
    public void The_socket_token_is_the_access_token_query_parameter(string query, string? token) =>
        AuthenticationExtensions.AccessToken(new QueryString(query.Length == 0 ? null : query)).ShouldBe(token);
}
