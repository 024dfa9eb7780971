using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Storage;
using MassTransit;

namespace ChatPlatform.Delivery.Messages;

/// <summary>Stores every message the relays accepted. Redelivery is harmless: the store is idempotent by id.</summary>
public sealed class MessageSubmittedConsumer(MessageStore store, ILogger<MessageSubmittedConsumer> logger) : IConsumer<MessageSubmitted>
{
    public async Task Consume(ConsumeContext<MessageSubmitted> context)
    {
        var result = await store.StoreAsync(context.Message, context.CancellationToken);
        switch (result.Outcome)
        {
            case StoreOutcome.Stored:
                logger.LogDebug("Stored {MessageId} in {RoomId} as seq {Seq}", result.Message.Id, result.Message.RoomId, result.Message.Seq);
                break;
            case StoreOutcome.Duplicate:
                logger.LogDebug("Message {MessageId} was already stored as seq {Seq}", result.Message.Id, result.Message.Seq);
                break;
            case StoreOutcome.IdConflict:
                logger.LogWarning("Message {MessageId} from {Sender} reuses the id of another sender's message", context.Message.Id, context.Message.From);
                break;
        }
    }
}
