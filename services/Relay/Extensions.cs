using System.Security.Cryptography;
using ChatPlatform.Relay.Connections;
using ChatPlatform.Relay.Messages;
using ChatPlatform.Relay.Receipts;
using ChatPlatform.Relay.Subscriptions;
using ChatPlatform.Relay.Telemetry;
using ChatPlatform.ServiceDefaults.Messaging;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;

namespace ChatPlatform.Relay;

public static class Extensions
{
    public static IHostApplicationBuilder AddRelay(this IHostApplicationBuilder builder)
    {
        // Unique per process start, so a restarted relay never inherits a dead one's queue.
        var instanceId = builder.Configuration["Service:InstanceId"] is { Length: > 0 } configured ? configured : $"relay-{Environment.ProcessId}";
        var queueName = $"{MessagingExtensions.InstanceQueuePrefix}{instanceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";

        builder.AddChatMessaging(bus =>
        {
            // Every instance hears every room's events on a queue of its own that disappears with it. One at a
            // time keeps a room's messages in the order Delivery published them, so gap fills stay rare.
            void OnInstanceQueue(IEndpointRegistrationConfigurator endpoint)
            {
                endpoint.Name = queueName;
                endpoint.Temporary = true;
                endpoint.ConcurrentMessageLimit = 1;
                endpoint.PrefetchCount = 1024;
            }

            bus.AddConsumer<MessagesStoredConsumer>().Endpoint(OnInstanceQueue);
            bus.AddConsumer<ReceiptsUpdatedConsumer>().Endpoint(OnInstanceQueue);
            bus.AddConsumer<MessageRejectedConsumer>().Endpoint(OnInstanceQueue);
        });
        builder.Services.AddReceiveEndpointObserver<CatchUpOnReconnect>();
        builder.Services.AddOptions<RelayOptions>()
            .BindConfiguration(RelayOptions.Section)
            .ValidateDataAnnotations()
            .Validate(options => options.MaxResendInterval >= options.AckTimeout,
                "Relay:MaxResendInterval must not be shorter than Relay:AckTimeout.")
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SubscriptionRegistry>();
        builder.Services.AddSingleton<RelayMetrics>();
        builder.Services.AddSingleton<HistoryClient>();
        builder.Services.AddSingleton<RoomFanout>();
        builder.Services.AddSingleton<SubmitBatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SubmitBatcher>());
        builder.Services.AddSingleton<CursorBatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<CursorBatcher>());
        builder.Services.AddHostedService<ResendSweeper>();
        builder.Services.AddSingleton<RelayProtocol>();
        return builder;
    }

    public static WebApplication MapRelay(this WebApplication app)
    {
        // Resolved now so its metrics are exported from start, before the first client.
        app.Services.GetRequiredService<RelayMetrics>();
        app.MapChatWebSocket<RelayProtocol>("/ws/relay");
        return app;
    }
}
