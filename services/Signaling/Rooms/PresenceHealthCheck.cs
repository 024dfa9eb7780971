using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChatPlatform.Signaling.Rooms;

/// <summary>Not ready until the presence warm-up has passed: before it, joined.peers could miss other instances' members.</summary>
public sealed class PresenceHealthCheck(PresencePublisher publisher) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(publisher.IsWarmedUp
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("learning the other instances' rooms"));
}
