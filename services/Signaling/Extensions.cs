using ChatPlatform.ServiceDefaults.Messaging;
using ChatPlatform.ServiceDefaults.WebSockets;
using ChatPlatform.Signaling.Connections;
using ChatPlatform.Signaling.IceServers;

namespace ChatPlatform.Signaling;

public static class Extensions
{
    public static IHostApplicationBuilder AddSignaling(this IHostApplicationBuilder builder)
    {
        // Signaling publishes presence and handshake events for other services to react to.
        builder.AddChatMessaging();
        builder.Services.AddOptions<IceServerOptions>()
            .BindConfiguration(IceServerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IceServerProvider>();
        builder.Services.AddSingleton<SignalingProtocol>();
        return builder;
    }

    public static WebApplication MapSignaling(this WebApplication app)
    {
        app.MapChatWebSocket<SignalingProtocol>("/ws/signaling");
        return app;
    }
}
