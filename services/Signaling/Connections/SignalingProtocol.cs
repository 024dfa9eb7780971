using System.Text.Json;
using ChatPlatform.Contracts;
using ChatPlatform.ServiceDefaults.WebSockets;
using ChatPlatform.Signaling.IceServers;
using ChatPlatform.Signaling.Rooms;
using ChatPlatform.Signaling.Telemetry;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Signaling.Connections;

/// <summary>
/// The signaling protocol: rooms, presence and WebRTC negotiation between the peers of a room. Every frame is
/// checked against the token's rooms, the sender's and the target's membership and the field limits before
/// anything changes; a refused frame changes nothing and reaches nobody.
/// </summary>
public sealed class SignalingProtocol(
    IceServerProvider iceServers,
    RoomDirectory directory,
    RoomNotifier notifier,
    SignalingMetrics metrics,
    IBus bus,
    IOptions<SignalingOptions> options,
    TimeProvider clock,
    ILogger<SignalingProtocol> logger) : IChatProtocol
{
    public ValueTask OnConnectedAsync(WebSocketSession session)
    {
        session.Send(new WelcomeFrame(session.ClientId, session.User.Name, iceServers.For(session.User.Name)));
        return ValueTask.CompletedTask;
    }

    public async ValueTask OnFrameAsync(WebSocketSession session, ClientFrame frame)
    {
        var error = frame.Type switch
        {
            "join" => Join(session, frame),
            "leave" => Leave(session, frame),
            "offer" or "answer" or "ice" => Forward(session, frame),
            "rtc-state" => await RtcStateAsync(session, frame),
            _ => new ErrorFrame(ErrorCodes.Invalid, $"Unknown frame type \"{frame.Type}\".", frame.Type),
        };
        if (error is null)
        {
            metrics.Accepted(frame.Type);
            return;
        }

        metrics.Rejected(error.Code);
        session.Send(error);
    }

    public void OnRejected(WebSocketSession session, string errorCode) => metrics.Rejected(errorCode);

    public ValueTask OnDisconnectedAsync(WebSocketSession session)
    {
        notifier.Tell(directory.LeaveAllLocal(session.ClientId));
        return ValueTask.CompletedTask;
    }

    private ErrorFrame? Join(WebSocketSession session, ClientFrame frame)
    {
        if (!SignalValidator.TryReadRoom(frame, session.User, out var roomId, out var error))
        {
            return error;
        }

        if (!directory.IsMember(roomId, session.ClientId) && directory.LocalRoomCount(session.ClientId) >= options.Value.MaxRoomsPerConnection)
        {
            return new ErrorFrame(ErrorCodes.Invalid, $"A connection may join at most {options.Value.MaxRoomsPerConnection} rooms.", frame.Type);
        }

        var me = new Peer(session.ClientId, session.User.Name);
        var (added, _) = directory.JoinLocal(roomId, me, others => session.Send(new JoinedFrame(roomId, others)));
        if (added)
        {
            notifier.Tell(new PresenceChange(roomId, me, Joined: true));
        }

        return null;
    }

    private ErrorFrame? Leave(WebSocketSession session, ClientFrame frame)
    {
        if (!SignalValidator.TryReadRoom(frame, session.User, out var roomId, out var error))
        {
            return error;
        }

        if (directory.LeaveLocal(roomId, session.ClientId) is not { } me)
        {
            return new ErrorFrame(ErrorCodes.Invalid, $"Not joined to \"{roomId}\".", frame.Type);
        }

        notifier.Tell(new PresenceChange(roomId, me, Joined: false));
        return null;
    }

    private ErrorFrame? Forward(WebSocketSession session, ClientFrame frame)
    {
        if (!SignalValidator.TryReadSignal(frame, session.User, options.Value, out var request, out var error))
        {
            return error;
        }

        if (!directory.IsMember(request.RoomId, session.ClientId))
        {
            return new ErrorFrame(ErrorCodes.Invalid, $"Join \"{request.RoomId}\" before negotiating in it.", frame.Type);
        }

        var instance = directory.InstanceOf(request.RoomId, request.To);
        if (instance is null || request.To == session.ClientId)
        {
            return new ErrorFrame(ErrorCodes.UnknownPeer, $"\"{request.To}\" is not in \"{request.RoomId}\".", frame.Type);
        }

        var forwarded = ToFrame(request.Kind, session.ClientId, request.RoomId, request.Sdp, request.Candidate);
        if (instance == directory.InstanceId)
        {
            return notifier.Deliver(request.To, forwarded) ? null
                : new ErrorFrame(ErrorCodes.UnknownPeer, $"\"{request.To}\" has just left.", frame.Type);
        }

        var payload = request.Candidate is null ? request.Sdp! : JsonSerializer.Serialize(request.Candidate, ClientFrame.SerializerOptions);
        return directory.Forward(new SignalForwarded(request.RoomId, session.ClientId, request.To, request.Kind, payload)) ? null
            : new ErrorFrame(ErrorCodes.Unavailable, "This instance is shutting down; reconnect and retry.", frame.Type);
    }

    /// <summary>The frame a peer receives: the same for a local delivery and one arriving from another instance.</summary>
    public static ServerFrame ToFrame(string kind, string from, string roomId, string? sdp, IceCandidate? candidate) =>
        candidate is null ? new DescriptionFrame(kind, from, roomId, sdp!) : new IceFrame(from, roomId, candidate);

    private async Task<ErrorFrame?> RtcStateAsync(WebSocketSession session, ClientFrame frame)
    {
        if (!SignalValidator.TryReadRtcState(frame, session.User, out var report, out var error))
        {
            return error;
        }

        metrics.ClientReported(report.DuplicatesDropped, report.Gaps);
        if (!report.IsPeerState)
        {
            return null; // stats: the client's telemetry for the room, not a state change; nothing more to record or publish
        }

        metrics.RtcState(report.State, report.HandshakeMilliseconds, report.Reason);
        try
        {
            // The connection's next frame waits for this one: a confirm lost in a broker restart must not hold it.
            using var timeout = new CancellationTokenSource(options.Value.PublishTimeout);
            await bus.Publish(new RtcStateReported(report.RoomId, session.ClientId, session.User.Name, report.Peer!,
                report.State, report.HandshakeMilliseconds, report.Reason, clock.GetUtcNow()), timeout.Token);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The metric is recorded; the event is informational and not worth failing the frame for.
            logger.LogDebug(exception, "RtcStateReported not published");
        }

        return null;
    }
}
