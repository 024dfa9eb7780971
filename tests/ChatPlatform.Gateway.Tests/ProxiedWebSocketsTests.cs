using ChatPlatform.Gateway.Proxying;
using ChatPlatform.ServiceDefaults.Hosting;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace ChatPlatform.Gateway.Tests;

public class ProxiedWebSocketsTests
{
    [Theory]
    [InlineData(StatusCodes.Status401Unauthorized)]
    [InlineData(StatusCodes.Status403Forbidden)]
    [InlineData(StatusCodes.Status429TooManyRequests)]
    public void An_upgrade_the_gateway_answers_itself_with_a_4xx_counts_as_refused(int status) =>
        ProxiedWebSockets.ResultOf(status).ShouldBe(ConnectionResults.Refused);

    [Theory]
    [InlineData(StatusCodes.Status502BadGateway)]
    [InlineData(StatusCodes.Status503ServiceUnavailable)]
    public void An_upgrade_no_instance_could_take_counts_as_failed(int status) =>
        ProxiedWebSockets.ResultOf(status).ShouldBe(ConnectionResults.Failed);

    [Fact]
    public void A_socket_is_established_by_a_101_or_by_a_200_to_an_HTTP2_extended_connect()
    {
        Established(StatusCodes.Status101SwitchingProtocols, extendedConnect: false).ShouldBeTrue();
        Established(StatusCodes.Status200OK, extendedConnect: true).ShouldBeTrue();
        Established(StatusCodes.Status200OK, extendedConnect: false).ShouldBeFalse();
        Established(StatusCodes.Status403Forbidden, extendedConnect: true).ShouldBeFalse();
    }

    [Fact]
    public async Task A_refusal_whose_response_the_server_starts_after_the_pipeline_returned_is_counted_once()
    {
        using var services = new ServiceCollection()
            .AddMetrics()
            .Configure<ServiceIdentity>(identity => identity.Name = "gateway")
            .AddSingleton<ConnectionRegistry>()
            .BuildServiceProvider();
        var registry = services.GetRequiredService<ConnectionRegistry>();
        using var attempts = new MetricCollector<long>(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            ConnectionRegistry.MeterName, "chat_connection_attempts");
        var app = new ApplicationBuilder(services);
        app.UseProxiedWebSocketCount();
        // A 401 with nothing written: Kestrel starts such a response only once the pipeline has returned.
        app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        });
        var response = new ResponseStartedByTheServer();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Features.Set<IHttpResponseFeature>(response);
        context.Request.Headers.Upgrade = "websocket";

        await app.Build()(context);
        await response.StartAsync();

        attempts.GetMeasurementSnapshot().Where(measurement => measurement.Value > 0)
            .ShouldHaveSingleItem().Tags["result"].ShouldBe(ConnectionResults.Refused);
        registry.Count.ShouldBe(0);
    }

    private static bool Established(int status, bool extendedConnect)
    {
        var context = new DefaultHttpContext();
        context.Response.StatusCode = status;
        if (extendedConnect)
        {
            context.Features.Set<IHttpExtendedConnectFeature>(new ExtendedConnect());
        }

        return ProxiedWebSockets.IsEstablished(context);
    }

    /// <summary>A response whose start callbacks run when the test says, as Kestrel runs them when it starts it.</summary>
    private sealed class ResponseStartedByTheServer : HttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _starting = [];

        public override void OnStarting(Func<object, Task> callback, object state) => _starting.Add((callback, state));

        public async Task StartAsync()
        {
            foreach (var (callback, state) in _starting)
            {
                await callback(state);
            }
        }
    }

    private sealed class ExtendedConnect : IHttpExtendedConnectFeature
    {
        public bool IsExtendedConnect => true;

        public string? Protocol => "websocket";

        public ValueTask<Stream> AcceptAsync() => throw new NotSupportedException();
    }
}
