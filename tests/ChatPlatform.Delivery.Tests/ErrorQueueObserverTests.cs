using ChatPlatform.Delivery.Messages;
using Fault = ChatPlatform.Delivery.Messages.ErrorQueueObserver.Fault;

namespace ChatPlatform.Delivery.Tests;

public class ErrorQueueObserverTests
{
    private static readonly Uri Submitted = new("rabbitmq://127.0.0.1/messages-submitted-in-order");
    private static readonly Uri History = new("rabbitmq://127.0.0.1/history-requested");

    private static CancellationToken Stopping() => new(canceled: true);

    [Fact]
    public void A_store_that_failed_after_its_retries_counts_as_moved_to_the_error_queue()
    {
        ErrorQueueObserver.Classify(Submitted, new TimeoutException("database away"), CancellationToken.None)
            .ShouldBe(Fault.ErrorQueue);
    }

    [Fact]
    public void A_consume_cancelled_by_the_endpoint_stopping_goes_back_to_its_queue_and_is_not_counted()
    {
        ErrorQueueObserver.Classify(Submitted, new TaskCanceledException(), Stopping())
            .ShouldBe(Fault.CancelledByStop);
        ErrorQueueObserver.Classify(null, new AggregateException(new OperationCanceledException()), Stopping())
            .ShouldBe(Fault.CancelledByStop);
    }

    [Fact]
    public void A_cancellation_while_the_endpoint_runs_is_not_moved_either()
    {
        // MassTransit's error-queue step ignores cancellations whatever their token: the broker gets the message back.
        ErrorQueueObserver.Classify(Submitted, new TaskCanceledException(), CancellationToken.None)
            .ShouldBe(Fault.Cancelled);
    }

    [Fact]
    public void A_failure_that_wraps_a_cancellation_is_not_taken_for_one()
    {
        // The error-queue step ignores only a cancellation itself (or inside an AggregateException), so must the count.
        ErrorQueueObserver.Classify(Submitted, new InvalidOperationException("store failed", new OperationCanceledException()), Stopping())
            .ShouldBe(Fault.ErrorQueue);
    }

    [Fact]
    public void Another_failure_while_stopping_still_counts()
    {
        ErrorQueueObserver.Classify(Submitted, new InvalidOperationException("a bug"), Stopping())
            .ShouldBe(Fault.ErrorQueue);
    }

    [Fact]
    public void A_failure_on_the_history_endpoint_is_a_read_answered_with_its_fault_not_a_poison_message()
    {
        ErrorQueueObserver.Classify(History, new TimeoutException("database away"), CancellationToken.None)
            .ShouldBe(Fault.HistoryRead);
        ErrorQueueObserver.Classify(new Uri("rabbitmq://127.0.0.1/vhost/history-requested"), new FormatException("not a history request"), CancellationToken.None)
            .ShouldBe(Fault.HistoryRead);
    }
}
