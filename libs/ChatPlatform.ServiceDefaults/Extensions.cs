using System.Text.Json;
using ChatPlatform.ServiceDefaults.Authentication;
using ChatPlatform.ServiceDefaults.Hosting;
using ChatPlatform.ServiceDefaults.Logging;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ChatPlatform.ServiceDefaults;

public static class Extensions
{
    public const string ReadyTag = "ready";
    public const string LiveTag = "live";

    /// <summary>Telemetry, health, JWT validation, ProblemDetails and WebSocket draining: what every service shares.</summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        var defaultName = ServiceIdentity.DefaultName(builder.Environment.ApplicationName);
        builder.Services.AddOptions<ServiceIdentity>()
            .BindConfiguration(ServiceIdentity.Section)
            .PostConfigure(identity =>
            {
                identity.Name = identity.Name.Length > 0 ? identity.Name : defaultName;
                identity.InstanceId = identity.InstanceId.Length > 0 ? identity.InstanceId : ServiceIdentity.DefaultInstanceId(identity.Name);
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.AddChatLogging();
        builder.AddChatTelemetry(defaultName);
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag, ReadyTag]);
        builder.Services.AddProblemDetails();
        builder.AddChatAuthentication();

        builder.Services.AddOptions<ChatWebSocketOptions>()
            .BindConfiguration(ChatWebSocketOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ConnectionRegistry>();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(15));
        return builder;
    }

    private static void AddChatLogging(this IHostApplicationBuilder builder)
    {
        // Browsers put the JWT in the WebSocket URL (access_token=...). These categories log request
        // URLs at Information, so they are kept at Warning: a token must never reach a log.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing.EndpointMiddleware", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp.ReverseProxy.Forwarder", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        // One line per entry, without the stack traces of a lost broker or database (ChatConsoleFormatter).
        // Logging__Console__FormatterName=json (or simple, systemd) chooses one of .NET's own formatters instead.
        builder.Logging.AddConsole(console => console.FormatterName ??= ChatConsoleFormatter.FormatterName);
        builder.Logging.AddConsoleFormatter<ChatConsoleFormatter, ChatConsoleFormatterOptions>(formatter =>
            formatter.TimestampFormat ??= "HH:mm:ss.fff ");
    }

    private static void AddChatTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("MassTransit")
                .AddMeter("ChatPlatform.*")
                .AddPrometheusExporter());

        // Traces are recorded only when they go somewhere: with no exporter, recording every span of every
        // message would cost CPU for nothing. OTLP is configured the standard way (OTEL_EXPORTER_OTLP_ENDPOINT).
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry
                .WithTracing(tracing => tracing
                    .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !IsOperationalPath(context.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddSource("MassTransit")
                    .AddSource("ChatPlatform.*"))
                .UseOtlpExporter();
        }
    }

    private static bool IsOperationalPath(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health");

    /// <summary>/metrics for Prometheus, /health/live (the process answers) and /health/ready (its dependencies answer).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(LiveTag),
            ResponseWriter = WriteHealthAsync,
        });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = WriteHealthAsync,
            // MassTransit reports a lost broker as Degraded; for routing, degraded is not ready.
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });

        // Drain before Kestrel stops: every client gets a 1001 close frame and reconnects elsewhere at once,
        // instead of finding a dead socket ~35 s later. Blocking here holds shutdown until the handshakes end.
        var registry = app.Services.GetRequiredService<ConnectionRegistry>();
        app.Lifetime.ApplicationStopping.Register(() =>
            registry.CloseAllAsync("server shutting down").Wait(TimeSpan.FromSeconds(5)));
        return app;
    }

    /// <summary>ProblemDetails for errors and bare status codes, then authentication.</summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        });
    }
}
