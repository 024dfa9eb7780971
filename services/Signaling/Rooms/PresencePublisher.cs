using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Signaling.Rooms;

/// <summary>
/// Publishes this instance's presence events and heartbeats in order, one at a time (a broker outage holds
/// them back and they go out, still in order, when it returns), and drops instances that fell silent.
/// </summary>
public sealed class PresencePublisher(
    RoomDirectory directory,
    RoomNotifier notifier,
    IBus bus,
    IOptions<SignalingOptions> options,
    ILogger<PresencePublisher> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(PublishInOrderAsync(stoppingToken), HeartbeatAsync(stoppingToken));

    private async Task PublishInOrderAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        await foreach (var message in directory.Outgoing.ReadAllAsync(stoppingToken))
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await bus.Publish(message, message.GetType(), stoppingToken);
                    delay = TimeSpan.FromMilliseconds(100);
                    break;
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    logger.LogWarning(exception, "Presence not published; retrying in {Delay}", delay);
                    await Task.Delay(delay, stoppingToken);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
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
