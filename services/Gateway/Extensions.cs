using ChatPlatform.Gateway.Auth;
using ChatPlatform.Gateway.Hosting;
using ChatPlatform.Gateway.Proxying;
using ChatPlatform.Gateway.Security;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Gateway;

public static class Extensions
{
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        var gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        var environment = builder.Environment;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = gateway.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            if (TlsCertificate.Load(gateway, environment) is { } certificate)
            {
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }
        });

        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        builder.Services.AddGatewayRateLimits();
        builder.Services.AddSingleton<OriginPolicy>();
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>
    /// Edge checks before anything is proxied: Origin of WebSocket upgrades, then per-IP rate limits; the count of
    /// proxied WebSockets wraps them, so it sees their refusals too.
    /// </summary>
    public static WebApplication UseGateway(this WebApplication app)
    {
        app.UseProxiedWebSocketCount();
        app.UseOriginPolicy();
        app.UseRateLimiter();
        var webRoot = WebRoot(app);
        if (Directory.Exists(webRoot))
        {
            var files = new PhysicalFileProvider(webRoot);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        }
        else
        {
            app.Logger.LogWarning("Web client folder {WebRoot} does not exist; / is not served", webRoot);
        }

        return app;
    }

    public static WebApplication MapGateway(this WebApplication app)
    {
        var auth = app.Services.GetRequiredService<IOptions<ChatAuthOptions>>().Value;
        if (auth.DevTokensEnabled(app.Environment.IsDevelopment()))
        {
            app.MapDevTokens();
        }

        app.MapReverseProxy(proxy =>
        {
            // Outside the balancer, so a retry balances again over the instances not tried yet.
            proxy.UseRetryOnAnotherInstance();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }

    private static string WebRoot(WebApplication app)
    {
        var configured = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.WebRoot;
        return Path.GetFullPath(configured.Length > 0 ? configured : Path.Combine(AppContext.BaseDirectory, "wwwroot"));
    }
}
