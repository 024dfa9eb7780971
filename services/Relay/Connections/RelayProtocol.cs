using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ChatPlatform.Contracts;
using ChatPlatform.Relay.Messages;
using ChatPlatform.Relay.Receipts;
using ChatPlatform.Relay.Subscriptions;
using ChatPlatform.Relay.Telemetry;
using ChatPlatform.ServiceDefaults.Logging;
using ChatPlatform.ServiceDefaults.Telemetry;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Connections;

/// <summary>
/// The relay protocol: clients send chat messages here (the relay hands them to the broker), subscribe to rooms
/// (replay from storage, then live), and acknowledge what they received and read.
/// </summary>
public sealed class RelayProtocol(
    SubmitBatcher submissions,
    SubscriptionRegistry subscriptions,
    RoomFanout fanout,
    HistoryClient history,
    CursorBatcher cursors,
    RelayMetrics metrics,
    IOptions<RelayOptions> options,
    IOptions<ChatWebSocketOptions> sockets,
    TimeProvider clock,
    ILogger<RelayProtocol> logger) : IChatProtocol
{
    // Per connection; collected with the session.
    private readonly ConditionalWeakTable<WebSocketSession, SemaphoreSlim> _sendsInFlight = [];
    // Per connection: replays still running, a replaced or unsubscribed one included until it ends.
    private readonly ConditionalWeakTable<WebSocketSession, StrongBox<int>> _replaysInFlight = [];

    public ValueTask OnConnectedAsync(WebSocketSession session)
    {
        session.Send(new WelcomeFrame(
            session.ClientId, session.User.Name, new FrameLimits(sockets.Value.FrameBurst, sockets.Value.FramesPerSecond)));
        return ValueTask.CompletedTask;
    }

    public async ValueTask OnFrameAsync(WebSocketSession session, ClientFrame frame)
    {
        switch (frame.Type)
        {
            case "send":
                await StartSendAsync(session, frame);
                break;
            case "subscribe":
                Subscribe(session, frame);
                break;
            case "unsubscribe":
                Unsubscribe(session, frame);
                break;
            case "ack":
            case "read":
                MoveCursor(session, frame);
                break;
            default:
                Refuse(session, new ErrorFrame(ErrorCodes.Invalid, $"Unknown frame type \"{frame.Type}\".", frame.Type));
                break;
        }
    }

    public void OnRejected(WebSocketSession session, string errorCode) => metrics.Rejected(errorCode);

    public ValueTask OnDisconnectedAsync(WebSocketSession session)
    {
        subscriptions.RemoveAll(session);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Validates a send and starts its publish without waiting for the broker's confirm, so the acks and reads
    /// behind it on the same connection are not held up by it. At most <see cref="RelayOptions.MaxSendsInFlight"/>
    /// per connection wait for their confirms at once; beyond that the connection's next frame waits.
    /// </summary>
    private async Task StartSendAsync(WebSocketSession session, ClientFrame frame)
    {
        var now = clock.GetUtcNow();
        if (!SendRequest.TryRead(frame, session.User, options.Value, now, out var request, out var error))
        {
            Refuse(session, error);
            return;
        }

        var activity = RelayTracing.Source.StartNewTrace(RelayTracing.Send, ActivityKind.Producer, session.ConnectionTrace)
            .TagMessage(request.Id, request.RoomId);
        var inFlight = _sendsInFlight.GetValue(session, _ => new SemaphoreSlim(options.Value.MaxSendsInFlight));
        try
        {
            await inFlight.WaitAsync(session.Closed).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "connection closed");
            activity?.Dispose();
            throw;
        }

        var submitted = new MessageSubmitted(
            request.Id, request.RoomId, session.User.Name, session.ClientId, request.Text, request.SentAt, now, activity.TraceParent());
        _ = PublishAsync(session, submitted, inFlight, activity);
    }

    private async Task PublishAsync(WebSocketSession session, MessageSubmitted submitted, SemaphoreSlim inFlight, Activity? activity)
    {
        try
        {
            try
            {
                // Publisher confirms are on: this completes only once the broker has the message.
                using var timeout = new CancellationTokenSource(options.Value.PublishTimeout);
                await submissions.SubmitAsync(submitted, timeout.Token);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                activity?.AddException(exception).SetStatus(ActivityStatusCode.Error, "unconfirmed");
                metrics.Failed("unconfirmed");
                // A broker away or slow refuses every send: a warning per message would grow the log with the traffic,
                // so those are Debug (the batch's warning and the failures metric tell them). Anything else is a defect.
                logger.Log(ExpectedFailure.IsExpected(exception) ? LogLevel.Debug : LogLevel.Warning, exception,
                    "Broker did not confirm message {MessageId}", submitted.Id);
                session.Send(new ErrorFrame(ErrorCodes.Unavailable, "The message was not accepted; retry with the same id.", submitted.Id.ToString()));
                return;
            }

            metrics.Accepted();
            session.Send(new AcceptedFrame(submitted.Id, submitted.RoomId));
        }
        finally
        {
            inFlight.Release();
            activity?.Dispose();
        }
    }

    /// <summary>
    /// Registers the subscription and starts its replay. The subscription is registered before the replay starts,
    /// so live messages arriving meanwhile wait in it: nothing falls between replay and live, and what both bring
    /// is pushed once. The replay runs beside the connection's later frames: a send right after a subscribe must not
    /// wait for storage (a cold start, Delivery restarting), or it would be stored after messages others sent later.
    /// </summary>
    private void Subscribe(WebSocketSession session, ClientFrame frame)
    {
        if (ReadRoom(session, frame) is not { } roomId)
        {
            return;
        }

        var afterSeq = 0L;
        if (frame.Root.TryGetProperty("afterSeq", out var afterElement) && !TryReadSeq(afterElement, out afterSeq))
        {
            Refuse(session, new ErrorFrame(ErrorCodes.Invalid, "\"afterSeq\" must be a whole number ≥ 0.", frame.Type));
            return;
        }

        if (subscriptions.Find(session, roomId) is null && subscriptions.CountFor(session) >= options.Value.MaxSubscriptions)
        {
            Refuse(session, new ErrorFrame(ErrorCodes.Invalid, $"At most {options.Value.MaxSubscriptions} rooms per connection.", frame.Type));
            return;
        }

        // Subscribing and unsubscribing in a loop would otherwise start a replay per frame, each holding one of the
        // relay's history requests for up to the history timeout while storage is slow.
        var replays = _replaysInFlight.GetValue(session, _ => new StrongBox<int>());
        if (Interlocked.Increment(ref replays.Value) > options.Value.MaxSubscriptions)
        {
            Interlocked.Decrement(ref replays.Value);
            Refuse(session, new ErrorFrame(ErrorCodes.RateLimited, $"At most {options.Value.MaxSubscriptions} replays at once; wait for \"subscribed\".", frame.Type, roomId));
            return;
        }

        var subscriber = new Subscriber(session, new RoomSubscription(roomId, afterSeq, fanout.PushTo(session)));
        subscriptions.Add(subscriber);
        _ = ReplayAsync(subscriber, replays);
    }

    /// <summary>
    /// Replays the stored messages after afterSeq in pages, then sends <c>subscribed</c> and goes live. Stops quietly
    /// once the subscription is no longer the session's for the room: unsubscribed, or replaced by a newer subscribe.
    /// </summary>
    private async Task ReplayAsync(Subscriber subscriber, StrongBox<int> replays)
    {
        var (session, subscription) = subscriber;
        var roomId = subscription.RoomId;
        try
        {
            RoomHistory page;
            do
            {
                page = await history.GetAsync(roomId, subscription.LastPushed, session.Closed);
                // One message at a time: an ack that comes in meanwhile is capped at what was queued, and an
                // unsubscribe or a newer subscribe stops this replay before its next message.
                foreach (var message in page.Messages.OrderBy(message => message.Seq))
                {
                    if (!subscriptions.IsCurrent(subscriber))
                    {
                        return;
                    }

                    if (!subscription.TakeReplayed(message, clock.GetUtcNow()))
                    {
                        continue;
                    }

                    if (!await session.SendAsync(MessageFrame.Of(message)))
                    {
                        return;
                    }

                    metrics.Pushed();
                }
            }
            while (page.Messages.Count >= history.PageSize);

            // Checked and sent in one step: a subscribe that replaced this one between the check and the send would
            // get this stale "subscribed" as if it answered the newer one. The rest (receipts, and going live with
            // what arrived during the replay) stays outside the registry's lock, which every subscribe here takes.
            var subscribed = ServerFrame.Serialize(new SubscribedFrame(roomId, subscription.LastPushed));
            if (!subscriptions.WhileCurrent(subscriber, () => session.SendSerialized(subscribed)))
            {
                return;
            }

            foreach (var receipt in page.Receipts)
            {
                session.Send(ReceiptFrame.From(receipt));
            }

            if (subscription.GoLive(clock.GetUtcNow()))
            {
                fanout.FillGapSoon(subscriber, options.Value.GapFillDelay);
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            if (subscriptions.Remove(session, roomId, subscription) && !session.IsClosing)
            {
                // Storage or the broker away is expected now and then; anything else is a bug here, logged as one.
                // The client is told the same either way: subscribing again is what recovers.
                var storageAway = exception is MassTransitException or TimeoutException;
                metrics.Failed(storageAway ? "history-unavailable" : "replay-failed");
                logger.Log(storageAway ? LogLevel.Warning : LogLevel.Error, exception, "Replay of {RoomId} for {ClientId} failed", roomId, session.ClientId);
                session.Send(new ErrorFrame(ErrorCodes.Unavailable, "Stored messages could not be read; subscribe again.", "subscribe", roomId));
            }
        }
        finally
        {
            Interlocked.Decrement(ref replays.Value);
        }
    }

    private void Unsubscribe(WebSocketSession session, ClientFrame frame)
    {
        if (ReadRoom(session, frame) is { } roomId)
        {
            subscriptions.Remove(session, roomId);
            session.Send(new UnsubscribedFrame(roomId));
        }
    }

    /// <summary>ack and read: cumulative cursors. A pushed message stops being resent once acknowledged.</summary>
    private void MoveCursor(WebSocketSession session, ClientFrame frame)
    {
        if (ReadRoom(session, frame) is not { } roomId)
        {
            return;
        }

        if (!frame.Root.TryGetProperty("seq", out var seqElement) || !TryReadSeq(seqElement, out var seq))
        {
            Refuse(session, new ErrorFrame(ErrorCodes.Invalid, "\"seq\" must be a whole number ≥ 0.", frame.Type));
            return;
        }

        var subscription = subscriptions.Find(session, roomId);
        if (subscription is not null)
        {
            // A client cannot have received more than it was pushed.
            seq = Math.Min(seq, subscription.LastPushed);
            var now = clock.GetUtcNow();
            foreach (var settled in subscription.Acknowledge(seq))
            {
                metrics.Delivered(now - settled.Message.SentAt);
            }
        }

        if (frame.Type == "read")
        {
            cursors.Read(roomId, session.User.Name, seq);
        }
        else
        {
            cursors.Delivered(roomId, session.User.Name, seq);
        }
    }

    /// <summary>The frame's roomId, checked against the rule and the token; null (and an error sent) otherwise.</summary>
    private string? ReadRoom(WebSocketSession session, ClientFrame frame)
    {
        var roomId = frame.GetString("roomId");
        if (!RoomIds.IsValid(roomId))
        {
            Refuse(session, new ErrorFrame(ErrorCodes.Invalid, $"\"roomId\" must be {RoomIds.Rule}.", frame.Type));
            return null;
        }

        if (!session.User.CanUse(roomId))
        {
            Refuse(session, new ErrorFrame(ErrorCodes.Forbidden, $"The token does not grant room \"{roomId}\".", frame.Type));
            return null;
        }

        return roomId;
    }

    private static bool TryReadSeq(JsonElement element, out long seq)
    {
        seq = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out seq) && seq >= 0;
    }

    private void Refuse(WebSocketSession session, ErrorFrame error)
    {
        metrics.Rejected(error.Code);
        session.Send(error);
    }
}
