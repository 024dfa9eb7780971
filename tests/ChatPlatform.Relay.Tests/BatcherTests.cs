using MassTransit;
using Microsoft.Extensions.Hosting;

namespace ChatPlatform.Relay.Tests;

/// <summary>A batcher started against a broker stand-in for one test, and stopped cleanly after it.</summary>
public abstract class BatcherTests<TBatcher, TMessage> : IAsyncLifetime
    where TBatcher : BackgroundService
    where TMessage : class
{
    protected BatcherTests(Func<IBus, TBatcher> create)
    {
        (var bus, Broker) = BrokerStandIn.Create<TMessage>();
        Batcher = create(bus);
    }

    protected TBatcher Batcher { get; }

    protected BrokerStandIn<TMessage> Broker { get; }

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await Batcher.StartAsync(Cancel);

    public async ValueTask DisposeAsync()
    {
        Broker.ConfirmAll();
        await Batcher.StopAsync(CancellationToken.None);
        Batcher.Dispose();
        GC.SuppressFinalize(this);
    }
}
