using ChatPlatform.Gateway.Security;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Gateway.Tests;

public class OriginPolicyTests
{
    private readonly OriginPolicy _policy = new(Options.Create(new GatewayOptions
    {
        AllowedOrigins = ["https://chat.example.org/", "http://localhost:5173"],
    }));

    [Fact]
    public void The_gateways_own_origin_is_allowed() =>
        _policy.Allows("https://127.0.0.1:8443", "https", "127.0.0.1:8443").ShouldBeTrue();

    [Fact]
    public void Listed_origins_are_allowed_with_or_without_a_trailing_slash()
    {
        _policy.Allows("https://chat.example.org", "https", "gateway:8443").ShouldBeTrue();
        _policy.Allows("http://localhost:5173", "https", "gateway:8443").ShouldBeTrue();
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("https://chat.example.org.evil.example")]
    [InlineData("http://chat.example.org")]
    [InlineData("null")]
    public void Any_other_origin_is_refused(string origin) =>
        _policy.Allows(origin, "https", "gateway:8443").ShouldBeFalse();

    [Fact]
    public void A_client_that_sends_no_origin_is_not_a_browser_and_is_allowed() =>
        _policy.Allows(null, "https", "gateway:8443").ShouldBeTrue();
}
