using System.Diagnostics;
using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using ChatPlatform.Delivery.Telemetry;
using ChatPlatform.ServiceDefaults.Telemetry;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Delivery.Messages;

/// <summary>
/// Stores every message the relays accepted, a relay's batch in the order it took them. Redelivery is harmless:
/// the store is idempotent by id. A failure (database away) throws, and the endpoint's retry policy tries the
/// batch again with backoff; what was stored before the failure is then a duplicate, not a second row.
/// </summary>
public sealed class MessagesSubmittedConsumer(
    MessageStore store,
    OutboxSignal outbox,
    DeliveryMetrics metrics,
    IOptions<DeliveryOptions> options,
    ILogger<MessagesSubmittedConsumer> logger) : IConsumer<MessagesSubmitted>
{
    private const string OutcomeTag = "chat.store.outcome";

    public async Task Consume(ConsumeContext<MessagesSubmitted> context)
    {
        var announced = false;
        try
        {
            foreach (var submitted in context.Message.Messages)
            {
                announced |= await StoreAsync(submitted, context.CancellationToken);
            }
        }
        finally
        {
            // Whatever was committed before a failure is announced now, not after the retry.
            if (announced)
            {
                outbox.Notify();
            }
        }
    }

    /// <summary>Stores one message; returns whether an outbox row was written.</summary>
    private async Task<bool> StoreAsync(MessageSubmitted submitted, CancellationToken cancellationToken)
    {
        using var activity = DeliveryTracing.Source.StartInMessageTrace(DeliveryTracing.Store, ActivityKind.Consumer, submitted.TraceParent)
            .TagMessage(submitted.Id, submitted.RoomId);
        if (!IsValid(submitted, options.Value))
        {
            // The relays check first; this only guards against a client that bypassed them or a bug.
            logger.LogWarning("Message {MessageId} from {Sender} is malformed; refused", submitted.Id, submitted.From);
            metrics.Rejected(Rejections.Invalid);
            activity?.SetTag(OutcomeTag, Rejections.Invalid);
            await store.RejectAsync(submitted, Rejections.Invalid, cancellationToken);
            return true;
        }

        if (activity is not null)
        {
            // The outbox row carries this span's context, so the dispatch and the push continue from the store.
            submitted = submitted with { TraceParent = activity.TraceParent() };
        }

        var started = Stopwatch.GetTimestamp();
        var result = await store.StoreAsync(submitted, cancellationToken);
        activity?.SetTag(OutcomeTag, result.Outcome switch
        {
            StoreOutcome.Stored => "stored",
            StoreOutcome.Duplicate => "duplicate",
            _ => Rejections.IdConflict,
        });
        switch (result.Outcome)
        {
            case StoreOutcome.Stored:
                metrics.Stored(Stopwatch.GetElapsedTime(started));
                break;
            case StoreOutcome.Duplicate:
                metrics.Duplicate();
                logger.LogDebug("Message {MessageId} was already stored as seq {Seq}", result.Message.Id, result.Message.Seq);
                break;
            case StoreOutcome.IdConflict:
                metrics.Rejected(Rejections.IdConflict);
                logger.LogWarning("Message {MessageId} from {Sender} reuses the id of another sender's message", submitted.Id, submitted.From);
                break;
        }

        return result.Outcome != StoreOutcome.Duplicate;
    }

    internal static bool IsValid(MessageSubmitted message, DeliveryOptions options) =>
        message.Id != Guid.Empty
        && RoomIds.IsValid(message.RoomId)
        && !string.IsNullOrWhiteSpace(message.Text)
        && message.Text.Length <= options.MaxTextLength
        && message.From is { Length: > 0 and <= 64 }
        && message.ClientId is { Length: <= 80 };
}
