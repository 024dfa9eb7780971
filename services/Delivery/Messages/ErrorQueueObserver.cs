using ChatPlatform.Delivery.Telemetry;
using MassTransit;

namespace ChatPlatform.Delivery.Messages;

/// <summary>
/// Counts messages that failed after every retry: MassTransit moves them to the endpoint's <c>_error</c> queue,
/// where they wait for an operator (the alert on <c>chat_delivery_failures_total</c> says so).
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
        metrics.MovedToErrorQueue();
        logger.LogError(exception, "{MessageType} {MessageId} failed after its retries and went to the error queue",
            typeof(T).Name, context.MessageId);
        return Task.CompletedTask;
    }

    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        metrics.MovedToErrorQueue();
        logger.LogError(exception, "A message could not be received (e.g. not deserializable) and went to the error queue");
        return Task.CompletedTask;
    }
}
