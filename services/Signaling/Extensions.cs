using System.Security.Cryptography;
using ChatPlatform.ServiceDefaults.Messaging;
using ChatPlatform.ServiceDefaults.WebSockets;
using ChatPlatform.Signaling.Connections;
using ChatPlatform.Signaling.IceServers;
using ChatPlatform.Signaling.Rooms;
using ChatPlatform.Signaling.Telemetry;
using MassTransit;

namespace ChatPlatform.Signaling;

public static class Extensions
{
    public static IHostApplicationBuilder AddSignaling(this IHostApplicationBuilder builder)
    {
        // Unique per process start: a restarted instance must not be mistaken for its previous life.
        var instanceId = builder.Configuration["Service:InstanceId"] is { Length: > 0 } configured ? configured : $"signaling-{Environment.ProcessId}";
        var presenceId = $"{instanceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

        builder.AddChatMessaging(bus =>
        {
            // Every instance hears every presence event and forwarded signal on a queue of its own that
            // disappears with it; one consumer at a time keeps each instance's events in order.
            void OnInstanceQueue(IConsumerConfigurator _)
            {
            }

            bus.AddConsumer<PeerPresenceChangedConsumer>(OnInstanceQueue).Endpoint(InstanceEndpoint(presenceId));
            bus.AddConsumer<SignalingInstanceAliveConsumer>(OnInstanceQueue).Endpoint(InstanceEndpoint(presenceId));
            bus.AddConsumer<SignalForwardedConsumer>(OnInstanceQueue).Endpoint(InstanceEndpoint(presenceId));
        });
        builder.Services.AddOptions<SignalingOptions>()
            .BindConfiguration(SignalingOptions.Section)
            .ValidateDataAnnotations()
            .Validate(options => options.InstanceTimeout > options.HeartbeatInterval * 2,
                "Signaling:InstanceTimeout must be more than two heartbeat intervals.")
            .ValidateOnStart();
        builder.Services.AddOptions<IceServerOptions>()
            .BindConfiguration(IceServerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(services => new RoomDirectory(presenceId, services.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<RoomNotifier>();
        builder.Services.AddSingleton<SignalingMetrics>();
        builder.Services.AddSingleton<IceServerProvider>();
        builder.Services.AddSingleton<SignalingProtocol>();
        builder.Services.AddSingleton<PresencePublisher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<PresencePublisher>());
        builder.Services.AddHealthChecks().AddCheck<PresenceHealthCheck>("presence", tags: [ServiceDefaults.Extensions.ReadyTag]);
        return builder;
    }

    private static Action<IEndpointRegistrationConfigurator> InstanceEndpoint(string presenceId) => endpoint =>
    {
        endpoint.Name = $"{MessagingExtensions.InstanceQueuePrefix}{presenceId}";
        endpoint.Temporary = true;
        endpoint.ConcurrentMessageLimit = 1;
    };

    public static WebApplication MapSignaling(this WebApplication app)
    {
        // Resolved now so its metrics are exported from start, before the first client.
        app.Services.GetRequiredService<SignalingMetrics>();
        app.MapChatWebSocket<SignalingProtocol>("/ws/signaling");
        return app;
    }
}
