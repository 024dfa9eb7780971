using ChatPlatform.Relay.Telemetry;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Subscriptions;

/// <summary>
/// Pushes again what clients have not acknowledged, with exponential backoff; a client that never acknowledges
/// is closed (1008) so it reconnects and resumes from storage, rather than being resent to forever.
/// </summary>
public sealed class ResendSweeper(
    SubscriptionRegistry subscriptions,
    RelayMetrics metrics,
    IOptions<RelayOptions> options,
    TimeProvider clock,
    ILogger<ResendSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ResendSweepInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Sweep();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal void Sweep()
    {
        var now = clock.GetUtcNow();
        foreach (var subscriber in subscriptions.All)
        {
            // Frames still queued to this client have not reached it, so its silence says nothing yet: resending
            // to a client that is merely behind would only pile more onto its queue.
            if (subscriber.Session.IsClosing || subscriber.Session.QueueLength > 0)
            {
                continue;
            }

            var (resent, gaveUp) = subscriber.Subscription.ResendDue(now, options.Value);
            if (resent > 0)
            {
                metrics.Retried(resent);
            }

            if (gaveUp)
            {
                metrics.Failed("unacked");
                logger.LogWarning("Closing {ClientId}: pushes in {RoomId} stayed unacknowledged after {Resends} resends",
                    subscriber.Session.ClientId, subscriber.Subscription.RoomId, options.Value.MaxResends);
                subscriptions.Remove(subscriber.Session, subscriber.Subscription.RoomId, subscriber.Subscription);
                _ = subscriber.Session.CloseAsync(CloseCodes.PolicyViolation, "pushes not acknowledged; resume with afterSeq");
            }
        }
    }
}
