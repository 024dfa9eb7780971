using System.Diagnostics;
using ChatPlatform.Contracts;
using ChatPlatform.Relay.Telemetry;
using ChatPlatform.ServiceDefaults.Telemetry;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;

namespace ChatPlatform.Relay.Subscriptions;

/// <summary>Stored messages, on this instance's own queue: every instance hears every room's messages.</summary>
public sealed class MessagesStoredConsumer(RoomFanout fanout) : IConsumer<MessagesStored>
{
    public Task Consume(ConsumeContext<MessagesStored> context)
    {
        foreach (var message in context.Message.Messages)
        {
            using var activity = RelayTracing.Source.StartInMessageTrace(RelayTracing.Push, ActivityKind.Consumer, message.TraceParent)
                .TagMessage(message.Id, message.RoomId);
            fanout.Deliver(message);
        }

        return Task.CompletedTask;
    }
}

public sealed class ReceiptsUpdatedConsumer(RoomFanout fanout) : IConsumer<ReceiptsUpdated>
{
    public Task Consume(ConsumeContext<ReceiptsUpdated> context)
    {
        foreach (var receipt in context.Message.Receipts)
        {
            fanout.DeliverReceipt(receipt);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Delivery refused a message: the instance holding the sender's connection tells it.</summary>
public sealed class MessageRejectedConsumer(ConnectionRegistry connections) : IConsumer<MessageRejected>
{
    public Task Consume(ConsumeContext<MessageRejected> context)
    {
        var rejected = context.Message;
        if (connections.TryGet(rejected.ClientId, out var session) && session is not null)
        {
            var message = rejected.Reason == ErrorCodes.IdConflict
                ? "This id belongs to another sender's message; send with a new id."
                : "Delivery refused this message.";
            session.Send(new ErrorFrame(rejected.Reason, message, rejected.Id.ToString()));
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// This instance's queue is temporary: when the broker restarts, whatever was published before the queue is
/// declared again never reaches it. Each time the queue is ready again, every subscription catches up from storage.
/// </summary>
// Takes the service provider: the observer is built while the bus is, and the fan-out needs the bus.
public sealed class CatchUpOnReconnect(IServiceProvider services, ILogger<CatchUpOnReconnect> logger) : IReceiveEndpointObserver
{
    private int _ready;

    public Task Ready(ReceiveEndpointReady ready)
    {
        if (ready.InputAddress.AbsolutePath.Contains(ServiceDefaults.Messaging.MessagingExtensions.InstanceQueuePrefix, StringComparison.Ordinal)
            && Interlocked.Increment(ref _ready) > 1)
        {
            logger.LogInformation("Instance queue is back; subscriptions catch up from storage");
            services.GetRequiredService<RoomFanout>().CatchUpAll();
        }

        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;
}
