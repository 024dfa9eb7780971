using System.Reflection;
using MassTransit;
using MassTransit.Configuration;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client.Exceptions;

namespace ChatPlatform.ServiceDefaults.Messaging;

/// <summary>
/// How soon the bus tries a lost broker again. MassTransit 8 fixes this in its RabbitMQ host configuration, with no
/// setting: it waits 3 s + 2ⁿ × 3 s (up to 30 s) plus 1 s between tries, never starts the schedule over after a
/// reconnect, and stops trying for good after 1,000 tries. Measured on one running stack, three broker restarts in a
/// row left the services not ready for up to 6, 14 and then 27 s after the broker was back: the waits grow over a
/// process's life. The policy sits in a get-only property, so it is replaced by reflection, the only way in; the unit
/// tests pin that it takes, so an upgrade that moves it fails there and not in production.
/// </summary>
public static class BrokerReconnect
{
    private const string HostConfigurationField = "_hostConfiguration";
    private const string RetryPolicyField = $"<{nameof(IHostConfiguration.ReceiveTransportRetryPolicy)}>k__BackingField";

    /// <summary>
    /// MassTransit's own filter (what counts as a lost connection; a refused login does not), on our schedule:
    /// <see cref="MessagingOptions.ReconnectDelay"/> doubling to <see cref="MessagingOptions.MaxReconnectDelay"/>,
    /// each ±25 %, with no limit on the number of tries: an outage of any length ends with the bus back.
    /// </summary>
    public static IRetryPolicy Policy(MessagingOptions options) => Retry.CreatePolicy(retry =>
    {
        retry.Handle<ConnectionException>();
        retry.Handle<AlreadyClosedException>();
        retry.Handle<EndOfStreamException>();
        retry.Handle<OperationInterruptedException>(exception => exception.ChannelShouldBeClosed());
        retry.Handle<NotSupportedException>(exception => exception.Message.Contains("Pipelining of requests forbidden", StringComparison.Ordinal));
        retry.Ignore<AuthenticationFailureException>();
        retry.Exponential(int.MaxValue, options.ReconnectDelay, options.MaxReconnectDelay, options.ReconnectDelay);
    });

    /// <summary>Puts <paramref name="policy"/> in place of MassTransit's; false if this MassTransit keeps it elsewhere.</summary>
    public static bool TryApply(IRabbitMqBusFactoryConfigurator configurator, IRetryPolicy policy)
    {
        if (HostConfigurationOf(configurator) is not { } host
            || host.GetType().GetField(RetryPolicyField, BindingFlags.Instance | BindingFlags.NonPublic) is not { } field
            || !field.FieldType.IsAssignableFrom(policy.GetType()))
        {
            return false;
        }

        field.SetValue(host, policy);
        return ReferenceEquals(host.ReceiveTransportRetryPolicy, policy);
    }

    /// <summary>The policy the bus will use to reconnect its receive and send transports.</summary>
    public static IRetryPolicy? CurrentPolicy(IRabbitMqBusFactoryConfigurator configurator) =>
        HostConfigurationOf(configurator)?.ReceiveTransportRetryPolicy;

    private static IHostConfiguration? HostConfigurationOf(IRabbitMqBusFactoryConfigurator configurator) =>
        configurator.GetType().GetField(HostConfigurationField, BindingFlags.Instance | BindingFlags.NonPublic)
            ?.GetValue(configurator) as IHostConfiguration;
}
