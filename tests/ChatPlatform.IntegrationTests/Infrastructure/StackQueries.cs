using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ChatPlatform.IntegrationTests.Infrastructure;

/// <summary>What tests read back from the running stack: the history API, message status and metrics.</summary>
public static class StackQueries
{
    /// <summary>Every stored message of a room, through the gateway's history API, in seq order.</summary>
    public static async Task<List<JsonElement>> HistoryAsync(this ChatStack stack, string roomId)
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "auditor", roomId);
        var messages = new List<JsonElement>();
        while (true)
        {
            var page = await stack.GetJsonAsync($"/api/rooms/{roomId}/messages?after={messages.Count}&limit=500", token);
            var batch = page.GetProperty("messages").EnumerateArray().ToList();
            messages.AddRange(batch);
            if (batch.Count < 500)
            {
                return messages;
            }
        }
    }

    public static async Task<JsonElement> GetJsonAsync(this ChatStack stack, string path, string token)
    {
        using var http = Client(stack, token);
        return await http.GetFromJsonAsync<JsonElement>(path);
    }

    public static async Task<HttpStatusCode> GetStatusCodeAsync(this ChatStack stack, string path, string token)
    {
        using var http = Client(stack, token);
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }

    /// <summary>The sum of a metric's samples (every label set) over the given instances' /metrics.</summary>
    public static Task<double> SumMetricAsync(this ChatStack stack, string name, params ServiceProcess[] instances) =>
        stack.SumMetricAsync(name, label: null, instances);

    /// <summary>The sum over the instances of the series of <paramref name="name"/> that carry <paramref name="label"/> (<c>reason="timeout"</c>), or of all of them.</summary>
    public static async Task<double> SumMetricAsync(this ChatStack stack, string name, string? label, params ServiceProcess[] instances) =>
        (await stack.SumMetricsAsync([(name, label)], instances))[0];

    /// <summary>
    /// Several sums as <see cref="SumMetricAsync(ChatStack, string, string?, ServiceProcess[])"/> gives them, all from
    /// one scrape of each instance: separate scrapes may straddle the end of the exporter's 300 ms cache, and then
    /// mix an old copy with a new one.
    /// </summary>
    public static async Task<double[]> SumMetricsAsync(this ChatStack stack, (string Name, string? Label)[] series, params ServiceProcess[] instances)
    {
        // No instance would read as a metric that is zero.
        ArgumentOutOfRangeException.ThrowIfZero(instances.Length);
        using var http = new HttpClient();
        var sums = new double[series.Length];
        foreach (var instance in instances)
        {
            var lines = (await http.GetStringAsync(new Uri(instance.Url, "/metrics"))).Split('\n');
            for (var i = 0; i < series.Length; i++)
            {
                sums[i] += Sum(lines, series[i].Name, series[i].Label);
            }
        }

        return sums;
    }

    private static double Sum(string[] lines, string name, string? label)
    {
        var sum = 0.0;
        foreach (var line in lines)
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' '
                && (label is null || line.Contains('{' + label, StringComparison.Ordinal) || line.Contains(',' + label, StringComparison.Ordinal)))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    /// <summary>
    /// The metric once it meets the condition, or its last value after 10 s. The Prometheus exporter answers from a
    /// copy it keeps for 300 ms, so a scrape right after an action may not show it yet.
    /// </summary>
    public static async Task<double> SumMetricWhenAsync(
        this ChatStack stack, string name, string? label, Func<double, bool> condition, params ServiceProcess[] instances)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var value = await stack.SumMetricAsync(name, label, instances);
            if (condition(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(100);
        }
    }

    private static HttpClient Client(ChatStack stack, string token)
    {
        var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return http;
    }
}
