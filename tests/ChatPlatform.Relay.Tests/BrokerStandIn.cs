using System.Reflection;
using MassTransit;

namespace ChatPlatform.Relay.Tests;

public static class BrokerStandIn
{
    public static readonly TimeSpan LongWait = TimeSpan.FromSeconds(30);

    /// <summary>A bus whose publishes of <typeparamref name="TMessage"/> the returned stand-in records and confirms.</summary>
    public static (IBus Bus, BrokerStandIn<TMessage> Broker) Create<TMessage>()
        where TMessage : class
    {
        var bus = DispatchProxy.Create<IBus, BrokerStandIn<TMessage>>();
        return (bus, (BrokerStandIn<TMessage>)(object)bus);
    }
}

/// <summary>
/// The broker as a batcher sees it: each publish of a <typeparamref name="TMessage"/> completes when the test
/// confirms it, or fails when the caller's token is cancelled, as a publish waiting for its confirm does.
/// </summary>
public class BrokerStandIn<TMessage> : DispatchProxy
    where TMessage : class
{
    private readonly Lock _gate = new();
    private readonly List<TMessage> _published = [];
    private readonly Queue<TaskCompletionSource> _unconfirmed = new();
    private bool _confirmingAll;

    public IReadOnlyList<TMessage> Published
    {
        get
        {
            lock (_gate)
            {
                return _published.ToList();
            }
        }
    }

    public Task WaitForPublishesAsync(int count) =>
        WaitUntilPublishedAsync(published => published.Count >= count, $"{count} publishes");

    /// <summary>Waits until what was published meets <paramref name="condition"/>; fails after a long wait.</summary>
    public async Task WaitUntilPublishedAsync(Func<IReadOnlyList<TMessage>, bool> condition, string expected)
    {
        var deadline = DateTime.UtcNow + BrokerStandIn.LongWait;
        while (!condition(Published))
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"{expected} expected, {Published.Count} publishes seen");
            await Task.Delay(10);
        }
    }

    public void ConfirmNext()
    {
        lock (_gate)
        {
            _unconfirmed.Dequeue().SetResult();
        }
    }

    /// <summary>Confirms every publish waiting and, from now on, each new one at once: for a test's clean-up.</summary>
    public void ConfirmAll()
    {
        lock (_gate)
        {
            _confirmingAll = true;
            while (_unconfirmed.TryDequeue(out var confirm))
            {
                confirm.TrySetResult();
            }
        }
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (targetMethod?.Name != nameof(IPublishEndpoint.Publish) || args?[0] is not TMessage message)
        {
            throw new NotSupportedException($"The batcher is not expected to call {targetMethod?.Name}.");
        }

        var confirmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _published.Add(message);
            if (_confirmingAll)
            {
                return Task.CompletedTask;
            }

            _unconfirmed.Enqueue(confirmed);
        }

        // The batcher's own timeout still applies, so a test that fails before confirming cannot hang the run.
        return confirmed.Task.WaitAsync(args.Length > 1 && args[1] is CancellationToken cancellation ? cancellation : CancellationToken.None);
    }
}
