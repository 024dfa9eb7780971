using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Telemetry;
using MassTransit;

namespace ChatPlatform.Delivery.Messages;

/// <summary>
/// Counts messages that failed after every retry: MassTransit moves them to the endpoint's <c>_error</c> queue,
/// where they wait for an operator (the alert on <c>chat_delivery_failures_total</c> says so). Two faults are not
/// that and are not counted: a consume cancelled because this instance is stopping (the broker gets the message
/// back and hands it on), and a history request that failed (answered with a fault and dropped: a read loses nothing).
/// </summary>
public sealed class ErrorQueueObserver(DeliveryMetrics metrics, ILogger<ErrorQueueObserver> logger) : IReceiveObserver
{
    public Task PreReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
        where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
        where T : class
    {
        switch (Classify(typeof(T), exception, context.CancellationToken))
        {
            case Fault.CancelledByStop:
                logger.LogInformation("{MessageType} {MessageId} was cancelled by the stop and goes back to its queue", typeof(T).Name, context.MessageId);
                break;
            case Fault.HistoryRead:
                logger.LogWarning(exception, "History request {MessageId} failed after its retries; the relay was answered with the fault", context.MessageId);
                break;
            default:
                metrics.MovedToErrorQueue();
                logger.LogError(exception, "{MessageType} {MessageId} failed after its retries and went to the error queue",
                    typeof(T).Name, context.MessageId);
                break;
        }

        return Task.CompletedTask;
    }

    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        if (Classify(null, exception, context.CancellationToken) == Fault.CancelledByStop)
        {
            logger.LogInformation("A message on {InputAddress} was cancelled by the stop and goes back to its queue", context.InputAddress);
            return Task.CompletedTask;
        }

        metrics.MovedToErrorQueue();
        logger.LogError(exception, "A message on {InputAddress} could not be received (e.g. not deserializable) and went to the error queue", context.InputAddress);
        return Task.CompletedTask;
    }

    public enum Fault
    {
        /// <summary>Moved to the endpoint's error queue: an operator has to look at it.</summary>
        ErrorQueue,

        /// <summary>Cancelled because the endpoint stops: MassTransit neither retries nor moves it, the broker gets it back.</summary>
        CancelledByStop,

        /// <summary>A history request: answered with the fault and dropped, a read loses nothing.</summary>
        HistoryRead,
    }

    // MassTransit cancels a consume's token only when its endpoint stops.
    public static Fault Classify(Type? messageType, Exception exception, CancellationToken consumeToken) =>
        consumeToken.IsCancellationRequested && exception.GetBaseException() is OperationCanceledException ? Fault.CancelledByStop
        : messageType == typeof(HistoryRequested) ? Fault.HistoryRead
        : Fault.ErrorQueue;
}
