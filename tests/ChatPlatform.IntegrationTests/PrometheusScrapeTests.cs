using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

/// <summary>
/// A real Prometheus (Debian's package, installed by ./chat test) scrapes the running stack while messages flow,
/// and its HTTP API sees what an operator's dashboard would: messages stored, delivery latency, connections.
/// </summary>
[Collection(StackCollection.Name)]
public class PrometheusScrapeTests(ChatStack stack)
{
    private const string PrometheusBinary = "/usr/bin/prometheus";

    [Fact]
    public async Task Prometheus_scraping_the_stack_sees_messages_stored_delivery_latency_and_connections()
    {
        File.Exists(PrometheusBinary).ShouldBeTrue($"{PrometheusBinary} is missing: ./chat test installs Debian's prometheus package");
        var port = FreePort.Next();
        var folder = Path.Combine(stack.LogDirectory, "prometheus");
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $$"""
            global: { scrape_interval: 1s, evaluation_interval: 1s }
            scrape_configs:
              - job_name: relay
                static_configs: [{ targets: ["{{stack.Relay.Url.Authority}}", "{{stack.Relay2.Url.Authority}}"] }]
              - job_name: delivery
                static_configs: [{ targets: ["{{stack.Delivery.Url.Authority}}", "{{stack.Delivery2.Url.Authority}}"] }]
              - job_name: signaling
                static_configs: [{ targets: ["{{stack.Signaling.Url.Authority}}", "{{stack.Signaling2.Url.Authority}}"] }]
            """);
        using var prometheus = Process.Start(new ProcessStartInfo(PrometheusBinary,
        [
            $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(folder, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
        ])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        _ = prometheus.StandardError.ReadToEndAsync();
        _ = prometheus.StandardOutput.ReadToEndAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        try
        {
            var room = RelayTests.NewRoom();
            await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
            await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);
            // The counters count since each instance started, and earlier tests ran on them: this test's part is the rise.
            var storedBefore = await stack.SumMetricAsync("chat_messages_stored_total", stack.Delivery, stack.Delivery2);
            var latenciesBefore = await stack.SumMetricAsync("chat_delivery_latency_seconds_count", stack.Relay, stack.Relay2);
            for (var i = 0; i < 20; i++)
            {
                await alice.SendUntilAcceptedAsync(Guid.CreateVersion7(), room, $"scraped {i}", TimeSpan.FromSeconds(30));
            }

            (await bob.WaitForDistinctMessagesAsync(room, 20, TimeSpan.FromSeconds(30))).ShouldBeTrue();

            (await EventuallyAsync(http, "sum(chat_messages_stored_total)", value => value >= storedBefore + 20))
                .ShouldBeTrue("Prometheus sees the stored messages");
            (await EventuallyAsync(http, "sum(chat_delivery_latency_seconds_count)", value => value >= latenciesBefore + 20))
                .ShouldBeTrue("Prometheus sees delivery latency observations (acks of pushed messages)");
            (await EventuallyAsync(http, "histogram_quantile(0.5, sum by (le) (chat_delivery_latency_seconds_bucket))", value => value > 0))
                .ShouldBeTrue("a p50 can be computed from the scraped histogram");
            (await EventuallyAsync(http, "sum(chat_connections{service=\"relay\"})", value => value >= 2))
                .ShouldBeTrue("Prometheus sees alice's and bob's connections");
            (await EventuallyAsync(http, "count(up == 1)", value => value >= 6))
                .ShouldBeTrue("all six instances are scraped");
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    /// <summary>Polls an instant query until its first sample satisfies the condition (scrapes are every second).</summary>
    private static async Task<bool> EventuallyAsync(HttpClient http, string query, Func<double, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var answer = await http.GetFromJsonAsync<JsonElement>($"api/v1/query?query={Uri.EscapeDataString(query)}");
                var results = answer.GetProperty("data").GetProperty("result");
                if (results.GetArrayLength() > 0
                    && double.TryParse(results[0].GetProperty("value")[1].GetString(), System.Globalization.CultureInfo.InvariantCulture, out var value)
                    && condition(value))
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Prometheus is still starting.
            }

            await Task.Delay(500);
        }

        return false;
    }
}
