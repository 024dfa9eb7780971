using ChatPlatform.ServiceDefaults.Authentication;

namespace ChatPlatform.ServiceDefaults.Tests;

public class ChatAuthOptionsTests
{
    [Fact]
    public void Development_without_a_key_uses_the_dev_key_and_issues_dev_tokens()
    {
        var options = new ChatAuthOptions();

        options.Problem(isDevelopment: true, isProduction: false).ShouldBeNull();
        options.EffectiveSigningKey(isDevelopment: true).ShouldBe(ChatAuthOptions.DevOnlySigningKey);
        options.DevTokensEnabled(isDevelopment: true).ShouldBeTrue();
        options.EffectiveAlgorithms(isDevelopment: true).ShouldBe(["HS256"]);
    }

    [Fact]
    public void Production_refuses_the_dev_key()
    {
        var options = new ChatAuthOptions { SigningKey = ChatAuthOptions.DevOnlySigningKey, DevTokens = false };

        options.Problem(isDevelopment: false, isProduction: true).ShouldNotBeNull().ShouldContain("dev-only");
    }

    [Fact]
    public void Production_refuses_dev_tokens_even_with_a_real_key()
    {
        var options = new ChatAuthOptions { SigningKey = new string('k', 48), DevTokens = true };

        options.Problem(isDevelopment: false, isProduction: true).ShouldNotBeNull().ShouldContain("DevTokens");
    }

    [Fact]
    public void Production_without_key_or_authority_cannot_validate_anything()
    {
        new ChatAuthOptions().Problem(isDevelopment: false, isProduction: true).ShouldNotBeNull();
    }

    [Fact]
    public void Production_with_an_external_authority_expects_asymmetric_algorithms()
    {
        var options = new ChatAuthOptions { Authority = "https://login.example.org/realm" };

        options.Problem(isDevelopment: false, isProduction: true).ShouldBeNull();
        options.DevTokensEnabled(isDevelopment: false).ShouldBeFalse();
        options.EffectiveAlgorithms(isDevelopment: false).ShouldBe(["RS256", "ES256"]);
    }

    [Fact]
    public void A_key_shorter_than_32_bytes_is_refused()
    {
        new ChatAuthOptions { SigningKey = "too-short" }.Problem(isDevelopment: true, isProduction: false)
            .ShouldNotBeNull().ShouldContain("32 bytes");
    }
}
