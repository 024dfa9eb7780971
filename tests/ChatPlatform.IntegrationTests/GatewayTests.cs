using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

[Collection(StackCollection.Name)]
public class GatewayTests(ChatStack stack)
{
    private Uri Ws(string path, string? token) => TestSocket.WebSocketUri(stack.GatewayUrl, path, token);

    [Fact]
    public async Task A_dev_token_opens_the_relay_which_welcomes_the_user_and_answers_ping()
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "alice", "general");

        await using var relay = await TestSocket.ConnectAsync(Ws("/ws/relay", token));
        var welcome = await relay.ReceiveAsync("welcome");
        await relay.SendAsync(new { type = "ping" });
        await relay.ReceiveAsync("pong");

        welcome.GetProperty("user").GetString().ShouldBe("alice");
        welcome.GetProperty("clientId").GetString().ShouldStartWith("alice~");
    }

    [Fact]
    public async Task A_dev_token_opens_signaling_which_welcomes_with_ice_servers_and_answers_ping()
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "bob", "general");

        await using var signaling = await TestSocket.ConnectAsync(Ws("/ws/signaling", token));
        var welcome = await signaling.ReceiveAsync("welcome");
        await signaling.SendAsync(new { type = "ping" });
        await signaling.ReceiveAsync("pong");

        welcome.GetProperty("user").GetString().ShouldBe("bob");
        welcome.GetProperty("iceServers").ValueKind.ShouldBe(JsonValueKind.Array);
    }

    [Fact]
    public async Task Two_connections_of_one_user_get_different_client_ids()
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "carol", "general");

        await using var first = await TestSocket.ConnectAsync(Ws("/ws/relay", token));
        await using var second = await TestSocket.ConnectAsync(Ws("/ws/relay", token));

        (await first.ReceiveAsync("welcome")).GetProperty("clientId").GetString()
            .ShouldNotBe((await second.ReceiveAsync("welcome")).GetProperty("clientId").GetString());
    }

    public static TheoryData<string, string?> RefusedTokens => new()
    {
        { "no token", null },
        { "expired", Tokens.Forge(expires: DateTime.UtcNow.AddMinutes(-2)) },
        { "wrong signature", Tokens.Forge(signingKey: "an-attackers-own-key-that-is-long-enough-0123456789") },
        { "wrong audience", Tokens.Forge(audience: "some-other-service") },
        { "wrong issuer", Tokens.Forge(issuer: "https://evil.example") },
        { "alg none", Tokens.WithoutSignature() },
        { "garbage", "not.a.token" },
    };

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task An_upgrade_without_a_valid_token_is_refused_with_401(string why, string? token)
    {
        (await TestSocket.UpgradeStatusAsync(Ws("/ws/relay", token))).ShouldBe(HttpStatusCode.Unauthorized, why);
        (await TestSocket.UpgradeStatusAsync(Ws("/ws/signaling", token))).ShouldBe(HttpStatusCode.Unauthorized, why);
    }

    [Fact]
    public async Task An_expired_token_is_refused_by_the_services_themselves_too()
    {
        var expired = Tokens.Forge(expires: DateTime.UtcNow.AddMinutes(-2));

        (await TestSocket.UpgradeStatusAsync(TestSocket.WebSocketUri(stack.Relay.Url, "/ws/relay", expired)))
            .ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_upgrade_from_a_foreign_origin_is_refused_with_403_and_the_own_origin_is_accepted()
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "dave", "general");
        var ownOrigin = stack.GatewayUrl.GetLeftPart(UriPartial.Authority);

        (await TestSocket.UpgradeStatusAsync(Ws("/ws/relay", token), origin: "https://evil.example")).ShouldBe(HttpStatusCode.Forbidden);
        (await TestSocket.UpgradeStatusAsync(Ws("/ws/signaling", token), origin: "https://evil.example")).ShouldBe(HttpStatusCode.Forbidden);
        (await TestSocket.UpgradeStatusAsync(Ws("/ws/relay", token), origin: ownOrigin)).ShouldBe(HttpStatusCode.SwitchingProtocols);
    }

    [Fact]
    public async Task A_bad_token_request_gets_a_validation_problem()
    {
        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };

        var response = await http.PostAsJsonAsync("/auth/token", new { user = "no spaces allowed", rooms = Array.Empty<string>() });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors").TryGetProperty("user", out _).ShouldBeTrue();
        problem.GetProperty("errors").TryGetProperty("rooms", out _).ShouldBeTrue();
    }

    [Fact]
    public async Task A_request_body_over_the_size_limit_is_refused_with_413()
    {
        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        var oversized = new string('x', 70 * 1024);

        var response = await http.PostAsJsonAsync("/auth/token", new { user = "alice", rooms = new[] { oversized } });

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task The_gateway_serves_the_web_client_over_http_and_tls()
    {
        // Trust exactly the development certificate the gateway made, nothing else.
        using var devCertificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(
            Path.Combine(Repository.Root, ".chat", "dev-cert.pfx"), password: null);
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == devCertificate.Thumbprint,
        };
        using var http = new HttpClient(handler);

        var plain = await http.GetAsync(stack.GatewayUrl);
        var tls = await http.GetAsync(stack.GatewayHttpsUrl);

        plain.StatusCode.ShouldBe(HttpStatusCode.OK);
        tls.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await tls.Content.ReadAsStringAsync()).ShouldContain("<html");
    }

    [Fact]
    public async Task The_history_api_needs_a_token_and_a_granted_room()
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "erin", "general");
        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };

        (await http.GetAsync("/api/rooms/general/messages")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        (await http.GetAsync("/api/rooms/general/messages")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var forbidden = await http.GetAsync("/api/rooms/secret/messages");
        forbidden.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        forbidden.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
    }

    [Fact]
    public async Task Over_the_per_ip_limits_token_requests_and_upgrades_get_429_with_retry_after()
    {
        var strict = stack.StartGateway("gateway-strict", new Dictionary<string, string>
        {
            ["Gateway__TokenRate__Burst"] = "3",
            ["Gateway__TokenRate__PerSecond"] = "1",
            ["Gateway__UpgradeRate__Burst"] = "2",
            ["Gateway__UpgradeRate__PerSecond"] = "1",
        });
        await strict.WaitUntilReadyAsync(ChatStack.StartTimeout);
        using var http = new HttpClient { BaseAddress = strict.Url };

        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            responses.Add(await http.PostAsJsonAsync("/auth/token", new { user = "frank", rooms = new[] { "general" } }));
        }

        var statuses = new List<HttpStatusCode>();
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "frank", "general");
        for (var i = 0; i < 5; i++)
        {
            statuses.Add(await TestSocket.UpgradeStatusAsync(TestSocket.WebSocketUri(strict.Url, "/ws/relay", token)));
        }

        responses.Take(3).ShouldAllBe(response => response.StatusCode == HttpStatusCode.OK);
        var limited = responses.Last();
        limited.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThanOrEqualTo(1);
        statuses.Take(2).ShouldAllBe(status => status == HttpStatusCode.SwitchingProtocols);
        statuses.ShouldContain(HttpStatusCode.TooManyRequests);
        await strict.StopAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Production_refuses_dev_tokens_and_the_dev_key_at_start()
    {
        var withDevTokens = stack.StartGateway("gateway-prod-devtokens", new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Auth__SigningKey"] = "a-real-production-key-from-a-secret-store-0123456789",
            ["Auth__DevTokens"] = "true",
            ["Gateway__CertificatePath"] = "",
        });
        var withDevKey = stack.StartGateway("gateway-prod-devkey", new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Auth__SigningKey"] = ChatPlatform.ServiceDefaults.Authentication.ChatAuthOptions.DevOnlySigningKey,
        });

        (await withDevTokens.WaitForExitAsync(ChatStack.StartTimeout)).ShouldNotBe(0);
        (await withDevKey.WaitForExitAsync(ChatStack.StartTimeout)).ShouldNotBe(0);
        withDevTokens.Output.ShouldContain("DevTokens is refused in Production");
        withDevKey.Output.ShouldContain("dev-only signing key is refused in Production");
    }

    [Fact]
    public async Task The_gateway_counts_the_sockets_it_holds_and_the_upgrades_it_refuses()
    {
        const string Open = "chat_connections";
        const string Attempts = "chat_connection_attempts_total";
        const string Accepted = "result=\"accepted\"";
        const string Refused = "result=\"refused\"";
        const string Failed = "result=\"failed\"";
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "heidi", "general");
        // Past the exporter's 300 ms copy of an earlier scrape, so the counts below are from now.
        await Task.Delay(TimeSpan.FromMilliseconds(400));
        var acceptedBefore = await stack.SumMetricAsync(Attempts, Accepted, stack.Gateway);
        var refusedBefore = await stack.SumMetricAsync(Attempts, Refused, stack.Gateway);
        var failedBefore = await stack.SumMetricAsync(Attempts, Failed, stack.Gateway);

        double whileOpen;
        await using (var relay = await TestSocket.ConnectAsync(Ws("/ws/relay", token)))
        await using (var signaling = await TestSocket.ConnectAsync(Ws("/ws/signaling", token)))
        {
            await relay.ReceiveAsync("welcome");
            await signaling.ReceiveAsync("welcome");
            // At least: a client of an earlier test may still be reconnecting meanwhile.
            (await stack.SumMetricWhenAsync(Attempts, Accepted, accepted => accepted >= acceptedBefore + 2, stack.Gateway))
                .ShouldBeGreaterThanOrEqualTo(acceptedBefore + 2);
            whileOpen = await stack.SumMetricWhenAsync(Open, label: null, open => open >= 2, stack.Gateway);
        }

        // The proxied socket is let go when both of its sides have closed, just after the client's close completes.
        var afterClosing = await stack.SumMetricWhenAsync(Open, label: null, open => open <= whileOpen - 2, stack.Gateway);
        (whileOpen - afterClosing).ShouldBeGreaterThanOrEqualTo(2);

        (await TestSocket.UpgradeStatusAsync(Ws("/ws/relay", token), origin: "https://evil.example")).ShouldBe(HttpStatusCode.Forbidden);
        (await TestSocket.UpgradeStatusAsync(Ws("/ws/relay", token: null))).ShouldBe(HttpStatusCode.Unauthorized);
        (await stack.SumMetricWhenAsync(Attempts, Refused, refused => refused >= refusedBefore + 2, stack.Gateway))
            .ShouldBeGreaterThanOrEqualTo(refusedBefore + 2);
        (await stack.SumMetricAsync(Attempts, Failed, stack.Gateway)).ShouldBe(failedBefore, "a refusal is counted once, as refused (nothing else upgrades through the gateway meanwhile: this collection runs one test at a time)");
    }

    [Fact]
    public async Task The_access_token_never_reaches_a_log()
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "grace", "general");
        await using (var relay = await TestSocket.ConnectAsync(Ws("/ws/relay", token)))
        await using (var signaling = await TestSocket.ConnectAsync(Ws("/ws/signaling", token)))
        {
            await relay.ReceiveAsync("welcome");
            await signaling.ReceiveAsync("welcome");
        }

        // A refused upgrade is logged too; its token must not be.
        await TestSocket.UpgradeStatusAsync(Ws("/ws/relay", token), origin: "https://evil.example");
        await Task.Delay(500);

        var signature = token.Split('.')[2];
        foreach (var process in stack.Processes)
        {
            process.Output.ShouldNotContain(signature, customMessage: $"{process.Name} logged the token");
        }
    }
}
