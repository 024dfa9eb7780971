using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Gateway.Security;

/// <summary>Refuses WebSocket upgrades from foreign origins (cross-site WebSocket hijacking).</summary>
public sealed class OriginPolicy(IOptions<GatewayOptions> options)
{
    private readonly HashSet<string> _allowed = options.Value.AllowedOrigins
        .Select(origin => origin.TrimEnd('/'))
        .ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Allowed: no Origin (not a browser: browsers always send one on upgrades), the gateway's own origin,
    /// or a listed origin.
    /// </summary>
    public bool Allows(string? origin, string scheme, string host) =>
        string.IsNullOrEmpty(origin)
        || string.Equals(origin, $"{scheme}://{host}", StringComparison.OrdinalIgnoreCase)
        || _allowed.Contains(origin);

    public static bool IsWebSocketUpgrade(HttpContext context) =>
        context.Request.Headers.Upgrade.Any(value => string.Equals(value, "websocket", StringComparison.OrdinalIgnoreCase))
        || string.Equals(context.Features.Get<IHttpExtendedConnectFeature>()?.Protocol, "websocket", StringComparison.OrdinalIgnoreCase);
}

public static class OriginPolicyMiddleware
{
    public static IApplicationBuilder UseOriginPolicy(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var policy = context.RequestServices.GetRequiredService<OriginPolicy>();
            if (OriginPolicy.IsWebSocketUpgrade(context)
                && !policy.Allows(context.Request.Headers.Origin.ToString(), context.Request.Scheme, context.Request.Host.Value ?? ""))
            {
                await Results.Problem(
                    statusCode: StatusCodes.Status403Forbidden,
                    title: "Origin not allowed",
                    detail: "WebSocket connections are accepted from the chat's own pages and the configured origins only.")
                    .ExecuteAsync(context);
                return;
            }

            await next(context);
        });
}
