using ChatPlatform.Gateway.Security;
using Microsoft.AspNetCore.Http.Features;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Gateway.Proxying;

/// <summary>
/// Counts the WebSockets the gateway holds for its clients in chat_connections{service="gateway"}, and each upgrade
/// in chat_connection_attempts_total: accepted (101, or 200 for HTTP/2), refused here (a 4xx: token, Origin, rate limit) or failed (no
/// instance could take it). The instances count only what reaches them, so without this an operator could not see
/// how many sockets the gateway holds, nor the upgrades it turned away.
/// </summary>
public static class ProxiedWebSockets
{
    public static IApplicationBuilder UseProxiedWebSocketCount(this IApplicationBuilder app)
    {
        // Resolved at the first upgrade, not while the pipeline is built: the registry's counters start every result
        // at zero, which is lost if they are made before the metrics exporter listens.
        ConnectionRegistry? registry = null;
        return app.Use(async (context, next) =>
        {
            if (!OriginPolicy.IsWebSocketUpgrade(context))
            {
                await next(context);
                return;
            }

            registry ??= context.RequestServices.GetRequiredService<ConnectionRegistry>();
            IDisposable? open = null;
            var counted = false;
            // Counted as the response starts, before the client can see it: a test or a scrape that follows the
            // client's refusal then finds it counted.
            context.Response.OnStarting(() =>
            {
                counted = true;
                if (IsEstablished(context))
                {
                    open = registry.TrackProxied();
                    registry.CountAttempt(ConnectionResults.Accepted);
                }
                else
                {
                    registry.CountAttempt(ResultOf(context.Response.StatusCode));
                }

                return Task.CompletedTask;
            });

            try
            {
                await next(context);
            }
            finally
            {
                if (!counted)
                {
                    // Aborted before any response.
                    registry.CountAttempt(ConnectionResults.Failed);
                }

                // The proxied socket ends with the request: YARP copies both ways until either side closes.
                open?.Dispose();
            }
        });
    }

    /// <summary>101 for an HTTP/1.1 upgrade; an HTTP/2 WebSocket (extended CONNECT) is established by a 200.</summary>
    internal static bool IsEstablished(HttpContext context) =>
        context.Response.StatusCode == StatusCodes.Status101SwitchingProtocols
        || (context.Response.StatusCode == StatusCodes.Status200OK
            && context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true });

    internal static string ResultOf(int statusCode) =>
        statusCode is >= 400 and < 500 ? ConnectionResults.Refused : ConnectionResults.Failed;
}
