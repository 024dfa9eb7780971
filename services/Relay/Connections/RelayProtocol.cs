using ChatPlatform.Contracts;
using ChatPlatform.Relay.Messages;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Connections;

/// <summary>The relay protocol: clients send chat messages here; the relay hands them to the broker.</summary>
public sealed class RelayProtocol(
    IBus publisher,
    IOptions<RelayOptions> options,
    TimeProvider clock,
    ILogger<RelayProtocol> logger) : IChatProtocol
{
    public ValueTask OnConnectedAsync(WebSocketSession session)
    {
        session.Send(new WelcomeFrame(session.ClientId, session.User.Name));
        return ValueTask.CompletedTask;
    }

    public async ValueTask OnFrameAsync(WebSocketSession session, ClientFrame frame)
    {
        switch (frame.Type)
        {
            case "send":
                await SendAsync(session, frame);
                break;
            default:
                session.Send(new ErrorFrame(ErrorCodes.Invalid, $"Unknown frame type \"{frame.Type}\".", frame.Type));
                break;
        }
    }

    public ValueTask OnDisconnectedAsync(WebSocketSession session) => ValueTask.CompletedTask;

    private async Task SendAsync(WebSocketSession session, ClientFrame frame)
    {
        var now = clock.GetUtcNow();
        if (!SendRequest.TryRead(frame, session.User, options.Value, now, out var request, out var error))
        {
            session.Send(error);
            return;
        }

        var submitted = new MessageSubmitted(
            request.Id, request.RoomId, session.User.Name, session.ClientId, request.Text, request.SentAt, now);
        try
        {
            // Publisher confirms are on: this completes only once the broker has the message.
            using var timeout = new CancellationTokenSource(options.Value.PublishTimeout);
            await publisher.Publish(submitted, timeout.Token);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            logger.LogWarning(exception, "Broker did not confirm message {MessageId}", request.Id);
            session.Send(new ErrorFrame(ErrorCodes.Unavailable, "The message was not accepted; retry with the same id.", request.Id.ToString()));
            return;
        }

        session.Send(new AcceptedFrame(request.Id, request.RoomId));
    }
}
