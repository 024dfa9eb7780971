using ChatPlatform.ServiceDefaults.Messaging;
using MassTransit;
using MassTransit.RetryPolicies;
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
        applied.ShouldBeTrue();
        after.ShouldBeSameAs(policy);
    }

    [Fact]
    public void A_lost_broker_is_tried_again_without_a_limit_on_tries()
    {
        var policy = BrokerReconnect.Policy(Options).ShouldBeOfType<ExponentialRetryPolicy>();

        policy.RetryLimit.ShouldBe(int.MaxValue);
    }

    [Fact]
    public void The_first_wait_is_short_and_no_wait_passes_the_cap_with_its_jitter()
    {
        var policy = BrokerReconnect.Policy(Options).ShouldBeOfType<ExponentialRetryPolicy>();

        // MassTransit's first interval is the delay plus one delta (both ReconnectDelay), each step ±20 % and ±25 %.
        policy.GetRetryInterval(0).ShouldBeLessThanOrEqualTo(Options.ReconnectDelay * 2.2 * 1.25);
        Enumerable.Range(0, 1_000).Select(policy.GetRetryInterval)
            .ShouldAllBe(wait => wait <= Options.MaxReconnectDelay * 1.25);
        policy.GetRetryInterval(999).ShouldBeGreaterThanOrEqualTo(Options.MaxReconnectDelay * 0.75);
    }

    [Fact]
    public void A_lost_connection_is_retried_and_a_refused_login_is_not()
    {
        var policy = BrokerReconnect.Policy(Options);

        policy.IsHandled(new RabbitMqConnectionException("Broker unreachable")).ShouldBeTrue();
        policy.IsHandled(new EndOfStreamException()).ShouldBeTrue();
        policy.IsHandled(new AuthenticationFailureException("ACCESS_REFUSED")).ShouldBeFalse();
        policy.IsHandled(new InvalidOperationException()).ShouldBeFalse();
    }
}
