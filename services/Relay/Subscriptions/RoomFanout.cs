using System.Runtime.CompilerServices;
using ChatPlatform.Contracts;
using ChatPlatform.Relay.Connections;
using ChatPlatform.Relay.Telemetry;
using ChatPlatform.ServiceDefaults.Resilience;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Subscriptions;

/// <summary>
/// Hands stored messages to this instance's subscribers, and fetches from storage whatever the broker did not
/// bring: a seq skipped (reordering between Delivery instances) or everything published while this instance's
/// queue was gone (a broker restart).
/// </summary>
public sealed class RoomFanout(
    SubscriptionRegistry subscriptions,
    HistoryClient history,
    RelayMetrics metrics,
    IOptions<RelayOptions> options,
    TimeProvider clock,
    ILogger<RoomFanout> logger)
{
    // Every subscriber of a room gets the same bytes: serialized once per stored message, not once per member.
    private readonly ConditionalWeakTable<MessageStored, byte[]> _serialized = [];

    /// <summary>The push a subscription makes: the frame into the client's bounded queue.</summary>
    public Func<MessageStored, bool> PushTo(WebSocketSession session) => message =>
    {
        var frame = _serialized.GetValue(message, stored => ServerFrame.Serialize(MessageFrame.Of(stored)));
        var queued = session.SendSerialized(frame);
        if (queued)
        {
            metrics.Pushed();
        }

        return queued;
    };

    public void Deliver(MessageStored message)
    {
        var now = clock.GetUtcNow();
        foreach (var subscriber in subscriptions.InRoom(message.RoomId))
        {
            if (subscriber.Subscription.Offer(message, now))
            {
                FillGapSoon(subscriber, options.Value.GapFillDelay);
            }

            CloseIfOverloaded(subscriber);
        }
    }

    public void DeliverReceipt(ReceiptUpdated receipt)
    {
        var frame = ServerFrame.Serialize(ReceiptFrame.From(receipt));
        foreach (var subscriber in subscriptions.InRoom(receipt.RoomId))
        {
            subscriber.Session.SendSerialized(frame);
        }
    }

    /// <summary>After the broker connection came back: anything may have been missed, so every subscription catches up.</summary>
    public void CatchUpAll()
    {
        foreach (var subscriber in subscriptions.All)
        {
            FillGapSoon(subscriber, TimeSpan.Zero, evenWithoutGap: true);
        }
    }

    /// <summary>Starts a fill unless one is running for this subscription.</summary>
    public void FillGapSoon(Subscriber subscriber, TimeSpan delay, bool evenWithoutGap = false)
    {
        var subscription = subscriber.Subscription;
        // A catch-up that finds a gap fill still backing off from the outage is kept for that fill, which runs it when
        // it ends.
        if (!subscription.TryBeginFill(catchUp: evenWithoutGap))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, clock, subscriber.Session.Closed);
                }

                // Storage may be briefly out of reach (Delivery restarting, the broker just back): try again with
                // backoff rather than leave the client behind until the room's next message happens to come.
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await FillAsync(subscriber, evenWithoutGap);
                        return;
                    }
                    catch (Exception exception) when (attempt < options.Value.MaxResends && !subscriber.Session.Closed.IsCancellationRequested
                                                      && exception is not OperationCanceledException)
                    {
                        metrics.Failed("history-unavailable");
                        logger.LogWarning(exception, "Filling {RoomId} for {ClientId} failed (attempt {Attempt}); trying again",
                            subscriber.Subscription.RoomId, subscriber.Session.ClientId, attempt);
                        await Task.Delay(Backoff.Exponential(attempt, options.Value.AckTimeout, options.Value.MaxResendInterval), clock, subscriber.Session.Closed);
                    }
                }
            }
            catch (OperationCanceledException) when (subscriber.Session.Closed.IsCancellationRequested)
            {
                // The client left; its next subscribe replays from storage anyway.
            }
            catch (Exception exception)
            {
                // Out of attempts: the client's own resume (or the room's next message) is what is left.
                metrics.Failed("history-unavailable");
                logger.LogWarning(exception, "Filling a gap in {RoomId} for {ClientId} failed", subscriber.Subscription.RoomId, subscriber.Session.ClientId);
            }
            finally
            {
                if (subscription.EndFill() && !subscriber.Session.Closed.IsCancellationRequested && subscriptions.IsCurrent(subscriber))
                {
                    FillGapSoon(subscriber, TimeSpan.Zero, evenWithoutGap: true);
                }
            }
        });
    }

    private async Task FillAsync(Subscriber subscriber, bool catchUp)
    {
        var subscription = subscriber.Subscription;
        while (catchUp || subscription.HasGap)
        {
            // A gap asks for just the missing seqs; a catch-up asks for whole pages until storage has no more.
            var limit = catchUp ? history.PageSize : (int)Math.Clamp(subscription.GapSize, 1, history.PageSize);
            var page = await history.GetAsync(subscription.RoomId, subscription.LastPushed, subscriber.Session.Closed, limit);
            var now = clock.GetUtcNow();
            foreach (var message in page.Messages)
            {
                subscription.Offer(message, now);
            }

            CloseIfOverloaded(subscriber);
            if (page.Messages.Count < limit)
            {
                if (catchUp)
                {
                    // Receipts published while this instance's queue was gone were lost with it; storage's last page
                    // carries the room's current ones, and a client keeps the highest of each member's cursors. Every
                    // subscription catches up at once, so these wait for queue space rather than overflow it.
                    foreach (var receipt in page.Receipts)
                    {
                        if (!await subscriber.Session.SendAsync(ReceiptFrame.From(receipt)))
                        {
                            return;
                        }
                    }
                }

                return;
            }
        }
    }

    private void CloseIfOverloaded(Subscriber subscriber)
    {
        if (subscriber.Subscription.Held > options.Value.MaxHeldPerSubscription)
        {
            logger.LogWarning("Closing {ClientId}: more than {Limit} messages held for it in {RoomId}",
                subscriber.Session.ClientId, options.Value.MaxHeldPerSubscription, subscriber.Subscription.RoomId);
            subscriptions.Remove(subscriber.Session, subscriber.Subscription.RoomId, subscriber.Subscription);
            _ = subscriber.Session.CloseAsync(CloseCodes.TryAgainLater, "too many messages unacknowledged; resume with afterSeq");
        }
    }
}
