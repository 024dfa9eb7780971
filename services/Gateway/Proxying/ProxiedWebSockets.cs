using ChatPlatform.Gateway.Security;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.AspNetCore.Http.Features;

namespace ChatPlatform.Gateway.Proxying;

/// <summary>
/// Counts the WebSockets the gateway holds for its clients in chat_connections{service="gateway"}, and each upgrade
/// in chat_connection_attempts_total: accepted (101, or 200 for HTTP/2), refused (a 4xx: mostly the gateway's own
/// token, Origin and rate checks, also an instance's or an unknown path's) or failed (any other answer: no instance
/// could take it, or one failed). The instances count only what reaches them, so without this an operator could see
/// neither how many sockets the gateway holds nor the upgrades it turned away.
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
            // Counted as the response starts, before the client can see it, so a scrape right after a refusal finds
            // it. Kestrel starts a response that nothing wrote only after the pipeline returned, so the finally
            // below may count first; whichever comes first counts, once.
            context.Response.OnStarting(() =>
            {
                if (!counted)
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
                    counted = true;
                    registry.CountAttempt(context.RequestAborted.IsCancellationRequested
                        ? ConnectionResults.Failed
                        : ResultOf(context.Response.StatusCode));
                }

                // YARP copies both ways until either side closes, then the request ends: so does the proxied socket.
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
