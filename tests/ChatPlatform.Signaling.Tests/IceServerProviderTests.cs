using System.Security.Cryptography;
using System.Text;
using ChatPlatform.Signaling.IceServers;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Signaling.Tests;

public class IceServerProviderTests
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_764_000_000);

    [Fact]
    public void By_default_clients_get_no_ice_servers_and_connect_on_the_lan_only() =>
        new IceServerProvider(Options.Create(new IceServerOptions()), new FixedClock(Now)).For("alice").ShouldBeEmpty();

    [Fact]
    public void Stun_urls_are_passed_without_credentials()
    {
        var servers = new IceServerProvider(Options.Create(new IceServerOptions { StunUrls = ["stun:stun.example.org:3478"] }), new FixedClock(Now))
            .For("alice");

        servers.ShouldHaveSingleItem().ShouldBe(new IceServer(["stun:stun.example.org:3478"]), new IceServerComparer());
    }

    [Fact]
    public void Turn_credentials_follow_the_coturn_rest_scheme_and_expire()
    {
        var options = new IceServerOptions
        {
            TurnUrls = ["turn:turn.example.org:3478"],
            TurnSharedSecret = "north-sea",
            TurnCredentialLifetime = TimeSpan.FromHours(1),
        };

        var turn = new IceServerProvider(Options.Create(options), new FixedClock(Now)).For("alice").ShouldHaveSingleItem();

        turn.Username.ShouldBe($"{1_764_000_000 + 3600}:alice");
#pragma warning disable CA5350 // the scheme under test is HMAC-SHA1
        var expected = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes("north-sea"), Encoding.UTF8.GetBytes(turn.Username!)));
#pragma warning restore CA5350
        turn.Credential.ShouldBe(expected);
    }

    [Fact]
    public void Turn_urls_without_a_shared_secret_are_not_handed_out() =>
        new IceServerProvider(Options.Create(new IceServerOptions { TurnUrls = ["turn:turn.example.org"] }), new FixedClock(Now))
            .For("alice").ShouldBeEmpty();

    private sealed class IceServerComparer : IEqualityComparer<IceServer>
    {
        public bool Equals(IceServer? x, IceServer? y) =>
            x!.Urls.SequenceEqual(y!.Urls) && x.Username == y.Username && x.Credential == y.Credential;

        public int GetHashCode(IceServer server) => server.Urls.Length;
    }
}
