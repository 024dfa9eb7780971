using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace ChatPlatform.Gateway.Proxying;

/// <summary>
/// An instance that just died still looks healthy until the active health check has failed it twice (up to about
/// ten seconds), and every request the balancer sends it meanwhile would be a 502: a history page, or a client's
/// reconnect after that very instance dropped it. When the request to it failed before any response came back (the
/// connection refused, or reset before the headers), the request goes to one of the other instances instead. Only
/// reads and WebSocket upgrades (GET, HEAD, or an HTTP/2 extended CONNECT): they carry no body, and a read the dead
/// instance may have seen is safe to repeat. YARP has no retry of its own (dotnet/yarp#56).
/// </summary>
public static class RetryOnAnotherInstance
{
    public static IReverseProxyApplicationBuilder UseRetryOnAnotherInstance(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.Use(async (context, next) =>
        {
            var proxied = context.GetReverseProxyFeature();
            var candidates = proxied.AvailableDestinations;
            var tried = new List<DestinationState>();
            while (true)
            {
                await next();
                if (!CanRetry(context) || proxied.ProxiedDestination is not { } failed)
                {
                    return;
                }

                tried.Add(failed);
                var others = candidates.Where(destination => !tried.Contains(destination)).ToList();
                if (others.Count == 0)
                {
                    return;
                }

                context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RetryOnAnotherInstance))
                    .LogWarning("{Destination} could not be reached; {Method} {Path} goes to another instance",
                        failed.DestinationId, context.Request.Method, context.Request.Path);
                proxied.AvailableDestinations = others;
                context.Features.Set<IForwarderErrorFeature>(null);
                context.Response.StatusCode = StatusCodes.Status200OK;
            }
        });
        return proxy;
    }

    internal static bool CanRetry(HttpContext context) =>
        context.GetForwarderErrorFeature() is { Error: ForwarderError.Request }
        && !context.Response.HasStarted
        && (HttpMethods.IsGet(context.Request.Method)
            || HttpMethods.IsHead(context.Request.Method)
            || context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true });
}
