using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

[Collection(StackCollection.Name)]
public class HealthAndShutdownTests(ChatStack stack) : StackFaultTests
{
    private static readonly TimeSpan HealthChangeTimeout = TimeSpan.FromSeconds(90);

    protected override ChatStack Stack => stack;

    [Fact]
    public async Task Every_service_is_ready_on_its_own_port_and_reports_the_checks_it_ran()
    {
        using var http = new HttpClient();

        foreach (var service in new[] { stack.Gateway, stack.Relay, stack.Signaling, stack.Delivery })
        {
            (await http.GetAsync(new Uri(service.Url, "/health/live"))).StatusCode.ShouldBe(HttpStatusCode.OK, service.Name);
            (await http.GetAsync(new Uri(service.Url, "/health/ready"))).StatusCode.ShouldBe(HttpStatusCode.OK, service.Name);
        }

        var delivery = JsonDocument.Parse(await http.GetStringAsync(new Uri(stack.Delivery.Url, "/health/ready"))).RootElement;
        delivery.GetProperty("checks").TryGetProperty("postgresql", out _).ShouldBeTrue();
        delivery.GetProperty("checks").TryGetProperty("masstransit-bus", out _).ShouldBeTrue();
    }

    [Fact]
    public async Task Every_service_exposes_prometheus_metrics()
    {
        using var http = new HttpClient();

        foreach (var service in new[] { stack.Gateway, stack.Relay, stack.Signaling, stack.Delivery })
        {
            var metrics = await http.GetStringAsync(new Uri(service.Url, "/metrics"));
            metrics.ShouldContain("# TYPE", customMessage: service.Name);
        }

        (await http.GetStringAsync(new Uri(stack.Relay.Url, "/metrics"))).ShouldContain("chat_connection_attempts_total{");
    }

    [Fact]
    public async Task The_message_path_metrics_of_the_brief_are_exposed_with_their_labels()
    {
        var room = RelayTests.NewRoom();
        await using (var alice = await RelayClient.ConnectAsync(stack.GatewayUrl, "alice", [room]))
        {
            await alice.SubscribeAsync(room);
            await alice.SendUntilAcceptedAsync(Guid.CreateVersion7(), room, "for the metrics", TimeSpan.FromSeconds(30));
            (await alice.WaitForDistinctMessagesAsync(room, 1, TimeSpan.FromSeconds(30))).ShouldBeTrue();
            await Task.Delay(TimeSpan.FromSeconds(1)); // the periodic ack goes out
        }

        using var http = new HttpClient();
        var relays = string.Concat(await Task.WhenAll(new[] { stack.Relay, stack.Relay2 }.Select(r => http.GetStringAsync(new Uri(r.Url, "/metrics")))));
        var deliveries = string.Concat(await Task.WhenAll(new[] { stack.Delivery, stack.Delivery2 }.Select(d => http.GetStringAsync(new Uri(d.Url, "/metrics")))));

        foreach (var series in new[]
        {
            "chat_messages_accepted_total", "chat_messages_pushed_total", "chat_delivery_retries_total",
            "chat_messages_rejected_total{otel_scope_name=\"ChatPlatform.Relay\",reason=\"forbidden\"}",
            "chat_delivery_failures_total{otel_scope_name=\"ChatPlatform.Relay\",reason=\"unacked\"}",
            "chat_delivery_latency_seconds_bucket", "chat_relay_send_queue_length", "chat_messages_undelivered",
            "chat_connections{", "chat_connection_attempts_total{",
        })
        {
            relays.ShouldContain(series, customMessage: "relay");
        }

        foreach (var series in new[]
        {
            "chat_messages_stored_total", "chat_messages_duplicate_total",
            "chat_messages_rejected_total{otel_scope_name=\"ChatPlatform.Delivery\",reason=\"id-conflict\"}",
            "chat_delivery_failures_total{otel_scope_name=\"ChatPlatform.Delivery\",reason=\"error-queue\"}",
            "chat_message_store_duration_seconds_bucket", "chat_outbox_pending", "chat_outbox_dispatch_latency_seconds_bucket",
        })
        {
            deliveries.ShouldContain(series, customMessage: "delivery");
        }

        // Every chat metric an alert rule or a Grafana dashboard queries is one the running services expose, so no
        // alert or panel goes silently blank after a rename. A client's WebRTC report gives the handshake histogram
        // its first sample (histograms appear with their first observation).
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "carol", room);
        await using (var signalingClient = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(stack.GatewayUrl, "/ws/signaling", token)))
        {
            await signalingClient.ReceiveAsync("welcome");
            await signalingClient.SendAsync(new { type = "rtc-state", peer = "dave~abcdef", roomId = room, state = "connected", handshakeMs = 120 });
            await signalingClient.SendAsync(new { type = "ping" });
            await signalingClient.ReceiveAsync("pong");
        }

        var signaling = string.Concat(await Task.WhenAll(new[] { stack.Signaling, stack.Signaling2 }.Select(s => http.GetStringAsync(new Uri(s.Url, "/metrics")))));
        var exposed = relays + deliveries + signaling;
        var rules = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "observability", "alerts.yml"));
        var queried = System.Text.RegularExpressions.Regex.Matches(rules, @"\bchat_[a-z_]+").Select(match => match.Value)
            .Concat((await DashboardMetricsAsync()).Where(metric => metric.StartsWith("chat_", StringComparison.Ordinal)))
            .Distinct().ToList();
        queried.Count.ShouldBeGreaterThan(10);
        foreach (var metric in queried)
        {
            exposed.ShouldContain(metric, customMessage: "queried by observability/alerts.yml or a dashboard");
        }
    }

    /// <summary>The metric names the Grafana dashboards query, as observability/grafana/check-dashboards.py lists them.</summary>
    private static async Task<List<string>> DashboardMetricsAsync()
    {
        using var script = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(
            "python3", [Path.Combine(Repository.Root, "observability", "grafana", "check-dashboards.py"), "--metrics"])
        {
            RedirectStandardOutput = true,
        })!;
        var output = await script.StandardOutput.ReadToEndAsync();
        await script.WaitForExitAsync();
        script.ExitCode.ShouldBe(0, "the dashboards pass their checks");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }

    [Fact]
    public async Task Ready_turns_unhealthy_when_RabbitMQ_stops_and_healthy_again_when_it_is_back()
    {
        var brokerUsers = new[] { stack.Relay, stack.Signaling, stack.Delivery };
        await stack.Servers.StopBrokerAsync();
        try
        {
            foreach (var service in brokerUsers)
            {
                (await WaitForReadyStatusAsync(service, HttpStatusCode.ServiceUnavailable)).ShouldBe(HttpStatusCode.ServiceUnavailable, service.Name);
                (await StatusAsync(new Uri(service.Url, "/health/live"))).ShouldBe(HttpStatusCode.OK, service.Name);
            }
        }
        finally
        {
            await stack.Servers.StartBrokerAsync();
        }

        foreach (var service in brokerUsers)
        {
            (await WaitForReadyStatusAsync(service, HttpStatusCode.OK)).ShouldBe(HttpStatusCode.OK, service.Name);
        }

        await stack.WaitUntilEveryServiceIsReadyAsync();

        // And the path works again end to end.
        var room = RelayTests.NewRoom();
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "heidi", room);
        await using var relay = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(stack.GatewayUrl, "/ws/relay", token));
        await relay.SendAsync(new { type = "send", id = Guid.CreateVersion7(), roomId = room, text = "back", sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        await relay.ReceiveAsync("accepted", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_relay_that_is_stopped_closes_its_sockets_with_going_away_and_exits_cleanly()
    {
        var relay = stack.StartService("relay-drain", "Relay");
        await relay.WaitUntilReadyAsync(ChatStack.StartTimeout);
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "ivan", "general");
        await using var client = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(relay.Url, "/ws/relay", token));
        await client.ReceiveAsync("welcome");

        await relay.StopAsync(TimeSpan.FromSeconds(20));

        (await client.ClosedAsync()).ShouldBe(WebSocketCloseStatus.EndpointUnavailable);
        relay.ExitCode.ShouldBe(0);
    }

    private static async Task<HttpStatusCode> StatusAsync(Uri uri)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return (await http.GetAsync(uri)).StatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return HttpStatusCode.ServiceUnavailable;
        }
    }

    private static async Task<HttpStatusCode> WaitForReadyStatusAsync(ServiceProcess service, HttpStatusCode wanted)
    {
        var deadline = DateTime.UtcNow + HealthChangeTimeout;
        var status = await StatusAsync(new Uri(service.Url, "/health/ready"));
        while (status != wanted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            status = await StatusAsync(new Uri(service.Url, "/health/ready"));
        }

        return status;
    }
}
