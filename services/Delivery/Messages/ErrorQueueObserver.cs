using ChatPlatform.Delivery.Telemetry;
using MassTransit;

namespace ChatPlatform.Delivery.Messages;

/// <summary>
/// Counts messages that failed after every retry: MassTransit moves them to the endpoint's <c>_error</c> queue,
/// where they wait for an operator (the alert on <c>chat_delivery_failures_total</c> says so). Two kinds of fault are
/// not that and are not counted: a cancelled consume (MassTransit never moves a cancellation to the error queue; it
/// hands the message back to the broker, as a stopping instance does with the consumes it cancels), and a fault on
/// the history endpoint (its requests are answered with the fault and dropped: a read loses nothing).
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
        Record(Classify(context.ReceiveContext.InputAddress, exception, context.CancellationToken), exception, $"{typeof(T).Name} {context.MessageId}");
        return Task.CompletedTask;
    }

    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        Record(Classify(context.InputAddress, exception, context.CancellationToken), exception, $"A message on {context.InputAddress}");
        return Task.CompletedTask;
    }

    private void Record(Fault fault, Exception exception, string what)
    {
        switch (fault)
        {
            case Fault.CancelledByStop:
                logger.LogInformation("{What} was cancelled by the stop and goes back to its queue", what);
                break;
            case Fault.Cancelled:
                logger.LogWarning(exception, "{What} was cancelled and goes back to its queue", what);
                break;
            case Fault.HistoryRead:
                logger.LogWarning(exception, "{What} (a history request) failed after its retries; the relay was answered with the fault", what);
                break;
            default:
                metrics.MovedToErrorQueue();
                logger.LogError(exception, "{What} failed after its retries and went to the error queue", what);
                break;
        }
    }

    public enum Fault
    {
        /// <summary>Moved to the endpoint's error queue: an operator has to look at it.</summary>
        ErrorQueue,

        /// <summary>Cancelled because the endpoint stops: MassTransit neither retries nor moves it, the broker gets it back.</summary>
        CancelledByStop,

        /// <summary>Cancelled while the endpoint runs: not retried, not moved either; the broker gets it back.</summary>
        Cancelled,

        /// <summary>On the history endpoint: answered with the fault and dropped, a read loses nothing.</summary>
        HistoryRead,
    }

    // MassTransit's error-queue step ignores an OperationCanceledException (itself, or inside an AggregateException),
    // not one wrapped in another exception; and it cancels a consume's token only when its endpoint stops.
    public static Fault Classify(Uri? inputAddress, Exception exception, CancellationToken consumeToken)
    {
        if (exception is OperationCanceledException
            || (exception is AggregateException aggregate && aggregate.GetBaseException() is OperationCanceledException))
        {
            return consumeToken.IsCancellationRequested ? Fault.CancelledByStop : Fault.Cancelled;
        }

        return inputAddress is not null && inputAddress.AbsolutePath.EndsWith("/" + Extensions.HistoryQueue, StringComparison.Ordinal)
            ? Fault.HistoryRead
            : Fault.ErrorQueue;
    }
}
