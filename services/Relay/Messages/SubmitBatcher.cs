using System.Diagnostics;
using System.Threading.Channels;
using ChatPlatform.Contracts;
using ChatPlatform.Relay.Telemetry;
using ChatPlatform.ServiceDefaults.Telemetry;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Messages;

/// <summary>
/// Publishes clients' messages to the broker in batches that form by themselves: whatever arrives while a
/// publish waits for its confirm goes out together in the next one. No timer, so a lone message waits for
/// nothing; under load, one broker message and one confirm carry many. A room's messages always take the same lane,
/// and a lane publishes one batch at a time, so they reach the queue in the order this instance took them (and
/// Delivery stores them in queue order): a sender's later message never overtakes its earlier one.
/// </summary>
public sealed class SubmitBatcher(IBus bus, IOptions<RelayOptions> options, ILogger<SubmitBatcher> logger) : BackgroundService
{
    private readonly Channel<Pending>[] _lanes = Enumerable.Range(0, options.Value.SubmitPublishers)
        .Select(_ => Channel.CreateBounded<Pending>(new BoundedChannelOptions(
            Math.Max(1, options.Value.SubmitQueueCapacity / options.Value.SubmitPublishers))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        }))
        .ToArray();

    /// <summary>Completes when the broker confirmed the batch holding this message; throws if it did not in time.</summary>
    public async Task SubmitAsync(MessageSubmitted message, CancellationToken cancellationToken)
    {
        var pending = new Pending(message, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await _lanes[LaneOf(message.RoomId, _lanes.Length)].Writer.WriteAsync(pending, cancellationToken);
        await pending.Confirmed.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The lane of a room: the same for the life of this process (string hashes are seeded per process).</summary>
    internal static int LaneOf(string roomId, int lanes) => (int)((uint)StringComparer.Ordinal.GetHashCode(roomId) % (uint)lanes);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // Several lanes, so one batch waiting for its confirm holds up only its own rooms.
        Task.WhenAll(_lanes.Select(lane => PublishLoopAsync(lane.Reader, stoppingToken)));

    private async Task PublishLoopAsync(ChannelReader<Pending> lane, CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(options.Value.MaxSubmitBatch);
        try
        {
            while (await lane.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < options.Value.MaxSubmitBatch && lane.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                if (batch.Count > 0)
                {
                    await PublishAsync(batch);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task PublishAsync(List<Pending> batch)
    {
        using var activity = RelayTracing.Source.StartBatch(
            RelayTracing.Submit, ActivityKind.Producer, batch, static pending => pending.Message.TraceParent);
        try
        {
            using var timeout = new CancellationTokenSource(options.Value.PublishTimeout);
            await bus.Publish(new MessagesSubmitted(batch.Select(pending => pending.Message).ToList()), timeout.Token);
            foreach (var pending in batch)
            {
                pending.Confirmed.TrySetResult();
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            activity?.AddException(exception).SetStatus(ActivityStatusCode.Error, "unconfirmed");
            logger.LogWarning(exception, "Broker did not confirm a batch of {Count} message(s)", batch.Count);
            foreach (var pending in batch)
            {
                pending.Confirmed.TrySetException(exception);
            }
        }
    }

    private sealed record Pending(MessageSubmitted Message, TaskCompletionSource Confirmed);
}
