using ChatPlatform.Gateway.Auth;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace ChatPlatform.Gateway.Tests;

public class DevTokenTests
{
    private sealed class DevelopmentEnvironment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = Environments.Development;
        public string ApplicationName { get; set; } = "ChatPlatform.Gateway";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = null!;
    }

    private static readonly ChatAuthOptions Auth = new();

    private static string IssueToken(string user, params string[] rooms)
    {
        var result = DevTokenEndpoints.Issue(new TokenRequest(user, rooms), Options.Create(Auth), new DevelopmentEnvironment(), TimeProvider.System);
        return result.Result.ShouldBeOfType<Ok<TokenResponse>>().Value!.Token;
    }

    [Fact]
    public async Task An_issued_token_passes_the_validation_every_service_runs()
    {
        var token = IssueToken("alice", "general", "random");
        var jwt = new JwtBearerOptions();
        AuthenticationExtensions.Configure(jwt, Auth, isDevelopment: true);

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, jwt.TokenValidationParameters);

        result.IsValid.ShouldBeTrue(result.Exception?.Message);
        var user = ChatUser.From(new System.Security.Claims.ClaimsPrincipal(result.ClaimsIdentity))!;
        user.Name.ShouldBe("alice");
        user.Rooms.ShouldBe(["general", "random"], ignoreOrder: true);
    }

    [Fact]
    public void An_issued_token_carries_iss_aud_exp_and_is_short_lived()
    {
        var token = new JsonWebToken(IssueToken("bob", "general"));

        token.Issuer.ShouldBe(Auth.Issuer);
        token.Audiences.ShouldBe([Auth.Audience]);
        token.Alg.ShouldBe("HS256");
        token.TryGetPayloadValue<long>("exp", out _).ShouldBeTrue("the token carries exp");
        var lifetime = token.ValidTo - DateTime.UtcNow;
        lifetime.ShouldBeGreaterThan(TimeSpan.Zero, "not expired when issued");
        lifetime.ShouldBeLessThanOrEqualTo(Auth.DevTokenLifetime);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("<script>")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void A_bad_user_name_is_a_validation_problem(string? user)
    {
        DevTokenEndpoints.Validate(new TokenRequest(user, ["general"])).ShouldContainKey("user");
    }

    [Fact]
    public void Rooms_are_required_bounded_and_well_formed()
    {
        DevTokenEndpoints.Validate(new TokenRequest("alice", null)).ShouldContainKey("rooms");
        DevTokenEndpoints.Validate(new TokenRequest("alice", [])).ShouldContainKey("rooms");
        DevTokenEndpoints.Validate(new TokenRequest("alice", ["ok", "not ok"])).ShouldContainKey("rooms");
        DevTokenEndpoints.Validate(new TokenRequest("alice", Enumerable.Range(0, 51).Select(i => $"r{i}").ToArray())).ShouldContainKey("rooms");
        DevTokenEndpoints.Validate(new TokenRequest("alice", ["*"])).ShouldBeEmpty();
    }
}
