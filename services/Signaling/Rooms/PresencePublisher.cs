using ChatPlatform.ServiceDefaults.Resilience;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Signaling.Rooms;

/// <summary>
/// Publishes this instance's presence events, heartbeats and forwarded signals in order, one at a time (a broker outage holds
/// them back and they go out, still in order, when it returns), and drops instances that fell silent.
/// </summary>
public sealed class PresencePublisher(
    RoomDirectory directory,
    RoomNotifier notifier,
    IBus bus,
    IOptions<SignalingOptions> options,
    ILogger<PresencePublisher> logger) : BackgroundService
{
    private readonly TaskCompletionSource _warmedUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once this instance has announced itself and listened for the others for the warm-up.</summary>
    public bool IsWarmedUp => _warmedUp.Task.IsCompleted;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(PublishInOrderAsync(stoppingToken), HeartbeatAsync(stoppingToken), WarmUpAsync(stoppingToken));

    private async Task WarmUpAsync(CancellationToken stoppingToken)
    {
        await Task.Delay(options.Value.PresenceWarmup, stoppingToken);
        _warmedUp.TrySetResult();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Sockets were closed with 1001 when stopping began; say goodbye and give the queue a moment to drain.
        directory.PublishFarewell();
        using var drained = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drained.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            await directory.Outgoing.Completion.WaitAsync(drained.Token);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Presence queue not drained on shutdown; peers will expire by timeout");
        }

        await base.StopAsync(cancellationToken);
    }

    private async Task PublishInOrderAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var failures = 0;
        await foreach (var message in directory.Outgoing.ReadAllAsync(stoppingToken))
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                attempt.CancelAfter(settings.PublishTimeout);
                try
                {
                    await bus.Publish(message, message.GetType(), attempt.Token);
                    failures = 0;
                    break;
                }
                catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
                {
                    var delay = Backoff.Exponential(++failures, TimeSpan.FromMilliseconds(100), settings.PresenceRetryMaxBackoff);
                    logger.LogWarning(exception, "Presence not published; retrying in {Delay}", delay);
                    await Task.Delay(delay, stoppingToken);
                }
            }
        }
    }

    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.HeartbeatInterval);
        do
        {
            directory.PublishSnapshot();
            notifier.Tell(directory.ExpireInstances(settings.InstanceTimeout));
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
