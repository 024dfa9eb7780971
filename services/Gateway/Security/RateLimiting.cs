using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Gateway.Security;

public static class RateLimiting
{
    /// <summary>Policy names, also used by YARP routes ("RateLimiterPolicy").</summary>
    public const string Upgrades = "upgrades";
    public const string Tokens = "tokens";

    public static IServiceCollection AddGatewayRateLimits(this IServiceCollection services)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(Upgrades, context => PerClientIp(context, Options(context).UpgradeRate));
            limiter.AddPolicy(Tokens, context => PerClientIp(context, Options(context).TokenRate));
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                rejected.HttpContext.Response.Headers.RetryAfter =
                    Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await Results.Problem(
                    statusCode: StatusCodes.Status429TooManyRequests,
                    title: "Too many requests",
                    detail: "This address is over its rate limit; retry after the time in Retry-After.")
                    .ExecuteAsync(rejected.HttpContext);
            };
        });
        return services;
    }

    private static GatewayOptions Options(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value;

    private static RateLimitPartition<string> PerClientIp(HttpContext context, TokenBucket bucket) =>
        RateLimitPartition.GetTokenBucketLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = bucket.Burst,
                TokensPerPeriod = bucket.PerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
}
