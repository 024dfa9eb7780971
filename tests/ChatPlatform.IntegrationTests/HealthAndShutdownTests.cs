using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

[Collection(StackCollection.Name)]
public class HealthAndShutdownTests(ChatStack stack)
{
    private static readonly TimeSpan HealthChangeTimeout = TimeSpan.FromSeconds(90);

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

        // And the path works again end to end.
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "heidi", "general");
        await using var relay = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(stack.GatewayUrl, "/ws/relay", token));
        await relay.SendAsync(new { type = "send", id = Guid.CreateVersion7(), roomId = "general", text = "back", sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
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
