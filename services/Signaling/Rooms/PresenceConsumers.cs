using ChatPlatform.Contracts;
using ChatPlatform.Signaling.Connections;
using MassTransit;

namespace ChatPlatform.Signaling.Rooms;

/// <summary>Another instance's join or leave: update the view, tell local members of the room.</summary>
public sealed class PeerPresenceChangedConsumer(RoomDirectory directory, RoomNotifier notifier) : IConsumer<PeerPresenceChanged>
{
    public Task Consume(ConsumeContext<PeerPresenceChanged> context)
    {
        if (directory.Apply(context.Message) is { } change)
        {
            notifier.Tell(change);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Another instance's heartbeat: heal the view from its snapshot; answer a newcomer with ours at once.</summary>
public sealed class SignalingInstanceAliveConsumer(RoomDirectory directory, RoomNotifier notifier) : IConsumer<SignalingInstanceAlive>
{
    public Task Consume(ConsumeContext<SignalingInstanceAlive> context)
    {
        var (changes, newcomer) = directory.Apply(context.Message);
        notifier.Tell(changes);
        if (newcomer)
        {
            // So a freshly started instance knows every room's members before its first client asks, not a heartbeat later.
            directory.PublishSnapshot();
        }

        return Task.CompletedTask;
    }
}

/// <summary>An offer, answer or candidate from another instance: deliver it if its target is connected here.</summary>
public sealed class SignalForwardedConsumer(RoomDirectory directory, RoomNotifier notifier) : IConsumer<SignalForwarded>
{
    public Task Consume(ConsumeContext<SignalForwarded> context)
    {
        var signal = context.Message;
        if (directory.InstanceOf(signal.RoomId, signal.ToClientId) != directory.InstanceId
            || directory.InstanceOf(signal.RoomId, signal.FromClientId) is null)
        {
            return Task.CompletedTask;
        }

        var candidate = signal.Kind == "ice"
            ? System.Text.Json.JsonSerializer.Deserialize<IceCandidate>(signal.PayloadJson, ChatPlatform.ServiceDefaults.WebSockets.ClientFrame.SerializerOptions)
            : null;
        notifier.Deliver(signal.ToClientId, SignalingProtocol.ToFrame(signal.Kind, signal.FromClientId, signal.RoomId,
            candidate is null ? signal.PayloadJson : null, candidate));
        return Task.CompletedTask;
    }
}
