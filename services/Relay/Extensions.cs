using ChatPlatform.Relay.Connections;
using ChatPlatform.ServiceDefaults.Messaging;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Relay;

public static class Extensions
{
    public static IHostApplicationBuilder AddRelay(this IHostApplicationBuilder builder)
    {
        builder.AddChatMessaging();
        builder.Services.AddOptions<RelayOptions>()
            .BindConfiguration(RelayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RelayProtocol>();
        return builder;
    }

    public static WebApplication MapRelay(this WebApplication app)
    {
        app.MapChatWebSocket<RelayProtocol>("/ws/relay");
        return app;
    }
}
