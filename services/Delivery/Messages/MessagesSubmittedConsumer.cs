using System.Diagnostics;
using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Storage;
using ChatPlatform.Delivery.Telemetry;
using ChatPlatform.ServiceDefaults.Telemetry;
using ChatPlatform.ServiceDefaults.WebSockets;
using MassTransit;
using MassTransit.RabbitMqTransport;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Delivery.Messages;

/// <summary>
/// Stores every message the relays accepted, in the order the queue holds them (through the <see cref="SubmitSequencer"/>),
/// each relay batch in the order the relay took them.
/// Redelivery is harmless: the store is idempotent by id. A failure (database away) throws, and the endpoint's retry
/// policy tries the batch again with backoff; nothing of a failed statement was written.
/// </summary>
public sealed class MessagesSubmittedConsumer(
    SubmitSequencer sequencer,
    MessageStore store,
    DeliveryMetrics metrics,
    IOptions<DeliveryOptions> options,
    ILogger<MessagesSubmittedConsumer> logger) : IConsumer<MessagesSubmitted>
{
    private const string OutcomeTag = "chat.store.outcome";

    public async Task Consume(ConsumeContext<MessagesSubmitted> context)
    {
        var spans = new List<Activity?>(context.Message.Messages.Count);
        try
        {
            var valid = new List<MessageSubmitted>(context.Message.Messages.Count);
            foreach (var submitted in context.Message.Messages)
            {
                var span = StartSpan(submitted);
                if (IsValid(submitted, options.Value))
                {
                    spans.Add(span);
                    // The outbox row carries this span's context, so the dispatch and the push continue from the store.
                    valid.Add(span is null ? submitted : submitted with { TraceParent = span.TraceParent() });
                    continue;
                }

                // The relays check first; this only guards against a client that bypassed them or a bug.
                logger.LogWarning("Message {MessageId} from {Sender} is malformed; refused", submitted.Id, submitted.From);
                metrics.Rejected(Rejections.Invalid);
                span?.SetTag(OutcomeTag, Rejections.Invalid);
                span?.Dispose();
                await store.RejectAsync(submitted, Rejections.Invalid, context.CancellationToken);
            }

            var stored = await sequencer.StoreAsync(PositionOf(context), valid, context.GetRetryAttempt() == 0, context.CancellationToken);
            for (var index = 0; index < stored.Results.Count; index++)
            {
                Record(stored.Results[index], valid[index], stored.Statement, spans[index]);
            }
        }
        finally
        {
            foreach (var span in spans)
            {
                span?.Dispose();
            }
        }
    }

    /// <summary>The delivery's number on its channel; the broker numbers a channel's deliveries in queue order.</summary>
    private static QueuePosition? PositionOf(ConsumeContext context) =>
        context.ReceiveContext.TryGetPayload<ChannelContext>(out var channel)
        && context.TryGetPayload<RabbitMqBasicConsumeContext>(out var delivery)
            ? new QueuePosition(channel, delivery.DeliveryTag)
            : null;

    /// <summary>One span per message in its own trace, each beside the others under the broker's consume span.</summary>
    private static Activity? StartSpan(MessageSubmitted submitted)
    {
        var consume = Activity.Current;
        var span = DeliveryTracing.Source.StartInMessageTrace(DeliveryTracing.Store, ActivityKind.Consumer, submitted.TraceParent)
            .TagMessage(submitted.Id, submitted.RoomId);
        Activity.Current = consume;
        return span;
    }

    /// <summary>Counts one message's outcome.</summary>
    private void Record(StoreResult result, MessageSubmitted submitted, TimeSpan elapsed, Activity? span)
    {
        span?.SetTag(OutcomeTag, result.Outcome switch
        {
            StoreOutcome.Stored => "stored",
            StoreOutcome.Duplicate => "duplicate",
            _ => Rejections.IdConflict,
        });
        switch (result.Outcome)
        {
            case StoreOutcome.Stored:
                metrics.Stored(elapsed);
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
    }

    internal static bool IsValid(MessageSubmitted message, DeliveryOptions options) =>
        message.Id != Guid.Empty
        && RoomIds.IsValid(message.RoomId)
        && !string.IsNullOrWhiteSpace(message.Text)
        && message.Text.Length <= options.MaxTextLength
        && message.From is { Length: > 0 and <= 64 }
        && message.ClientId is { Length: <= 80 };
}
