using ChatPlatform.ServiceDefaults.Messaging;
using MassTransit;
using MassTransit.RetryPolicies;
using MassTransit.Transports;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client.Exceptions;

namespace ChatPlatform.ServiceDefaults.Tests;

public class BrokerReconnectTests
{
    private static readonly MessagingOptions Options = new()
    {
        ReconnectDelay = TimeSpan.FromMilliseconds(200),
        MaxReconnectDelay = TimeSpan.FromSeconds(2),
    };

    [Fact]
    public void The_bus_MassTransit_builds_reconnects_on_our_schedule_instead_of_its_own()
    {
        var policy = BrokerReconnect.Policy(Options);
        IRetryPolicy? before = null;
        IRetryPolicy? after = null;
        var applied = false;

        // Building the bus runs its configuration without connecting to a broker.
        Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            before = BrokerReconnect.CurrentPolicy(rabbit);
            applied = BrokerReconnect.TryApply(rabbit, policy);
            after = BrokerReconnect.CurrentPolicy(rabbit);
        });

        before.ShouldNotBeNull().ToString().ShouldStartWith("Exponential (limit 1000, min 3000ms, max 30000ms");
        applied.ShouldBeTrue("the receive and the send side both take it");
        after.ShouldBeSameAs(policy);
    }

    [Fact]
    public void Every_service_bus_takes_our_schedule_without_the_warning_that_it_could_not()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.AddFakeLogging();
        builder.AddChatMessaging();
        using var host = builder.Build();

        // Resolving the bus builds it, which runs the RabbitMQ configuration; starting it would connect.
        var bus = host.Services.GetRequiredService<IBusInstance>();

        bus.HostConfiguration.ReceiveTransportRetryPolicy.ToString().ShouldStartWith("Exponential (limit 2147483647, min 0ms, max 2000ms");
        bus.HostConfiguration.SendTransportRetryPolicy.ShouldBeSameAs(bus.HostConfiguration.ReceiveTransportRetryPolicy);
        host.Services.GetFakeLogCollector().GetSnapshot()
            .ShouldNotContain(record => record.Message.Contains("reconnect policy", StringComparison.Ordinal));
    }

    [Fact]
    public void The_waits_double_from_the_first_delay_to_the_cap_each_within_its_jitter()
    {
        var policy = BrokerReconnect.Policy(Options).ShouldBeOfType<ExponentialRetryPolicy>();

        // 200, 400, 800, 1,600 ms, then the cap: each step ±20 % before the cap and ±25 % on every wait.
        double[] expected = [200, 400, 800, 1_600, 2_000, 2_000];
        for (var attempt = 0; attempt < expected.Length; attempt++)
        {
            var wait = policy.GetRetryInterval(attempt).TotalMilliseconds;
            wait.ShouldBeInRange(expected[attempt] * 0.8 * 0.75, expected[attempt] * 1.2 * 1.25, $"wait {attempt}");
        }

        Enumerable.Range(0, 1_000).Select(policy.GetRetryInterval).ShouldAllBe(wait => wait <= Options.MaxReconnectDelay * 1.25);
    }

    [Fact]
    public void What_counts_as_a_lost_connection_is_what_MassTransit_itself_retries()
    {
        var ours = BrokerReconnect.Policy(Options);
        IRetryPolicy? theirs = null;
        Bus.Factory.CreateUsingRabbitMq(rabbit => theirs = BrokerReconnect.CurrentPolicy(rabbit));
        Exception[] exceptions =
        [
            new RabbitMqConnectionException("Broker unreachable"),
            new EndOfStreamException(),
            new AlreadyClosedException(new RabbitMQ.Client.Events.ShutdownEventArgs(RabbitMQ.Client.ShutdownInitiator.Peer, 320, "CONNECTION_FORCED")),
            new NotSupportedException("Pipelining of requests forbidden"),
            new OperationInterruptedException(new RabbitMQ.Client.Events.ShutdownEventArgs(RabbitMQ.Client.ShutdownInitiator.Peer, 320, "CONNECTION_FORCED")),
            new NotSupportedException("something else"),
            new AuthenticationFailureException("ACCESS_REFUSED"),
            new InvalidOperationException(),
        ];

        foreach (var exception in exceptions)
        {
            ours.IsHandled(exception).ShouldBe(theirs.ShouldNotBeNull().IsHandled(exception), exception.GetType().Name + ": " + exception.Message);
        }

        ours.IsHandled(new RabbitMqConnectionException("Broker unreachable")).ShouldBeTrue();
        ours.IsHandled(new AuthenticationFailureException("ACCESS_REFUSED")).ShouldBeFalse();
    }
}
