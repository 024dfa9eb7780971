using System.Reflection;
using MassTransit;
using MassTransit.Configuration;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client.Exceptions;

namespace ChatPlatform.ServiceDefaults.Messaging;

/// <summary>
/// How soon the bus tries a lost broker again. MassTransit 8 fixes this in its RabbitMQ host configuration, with no
/// setting: about 3 s + 2ⁿ × 3 s, capped at 30 s, each ±25 %, plus 1 s between tries, and a receive endpoint never
/// starts that schedule over after it reconnects. So the wait after a broker restart grows over a process's life:
/// four restarts in a row on one running stack left storing stopped 5.0, 9.7, 29.4 and 9.2 s after accepting had
/// come back (docs/operations.md). The policy sits in a get-only property, so it is replaced by reflection, the only
/// way in; the unit tests pin that it takes, so an upgrade that moves it fails there and not in production.
/// </summary>
public static class BrokerReconnect
{
    private const string HostConfigurationField = "_hostConfiguration";
    private const string RetryPolicyField = $"<{nameof(IHostConfiguration.ReceiveTransportRetryPolicy)}>k__BackingField";

    /// <summary>
    /// MassTransit's own filter (what counts as a lost connection; a refused login does not), on our schedule:
    /// <see cref="MessagingOptions.ReconnectDelay"/> doubling to <see cref="MessagingOptions.MaxReconnectDelay"/>,
    /// each ±25 %. The try limit is never reached (MassTransit would only start the schedule over there).
    /// </summary>
    public static IRetryPolicy Policy(MessagingOptions options) => Retry.CreatePolicy(retry =>
    {
        retry.Handle<ConnectionException>();
        retry.Handle<AlreadyClosedException>();
        retry.Handle<EndOfStreamException>();
        retry.Handle<OperationInterruptedException>(exception => exception.ChannelShouldBeClosed());
        retry.Handle<NotSupportedException>(exception => exception.Message.Contains("Pipelining of requests forbidden", StringComparison.Ordinal));
        retry.Ignore<AuthenticationFailureException>();
        // No minimum on top: MassTransit's interval is minimum + 2ⁿ × delta, so this gives delta, 2 × delta, 4 × delta …
        retry.Exponential(int.MaxValue, TimeSpan.Zero, options.MaxReconnectDelay, options.ReconnectDelay);
    });

    /// <summary>
    /// Puts <paramref name="policy"/> in place of MassTransit's for the receive and the send side; false, with
    /// MassTransit's schedule left in force, if this MassTransit keeps it elsewhere.
    /// </summary>
    public static bool TryApply(IRabbitMqBusFactoryConfigurator configurator, IRetryPolicy policy)
    {
        if (HostConfigurationOf(configurator) is not { } host
            || host.GetType().GetField(RetryPolicyField, BindingFlags.Instance | BindingFlags.NonPublic) is not { } field
            || !field.FieldType.IsInstanceOfType(policy))
        {
            return false;
        }

        try
        {
            field.SetValue(host, policy);
        }
        catch (Exception exception) when (exception is FieldAccessException or ArgumentException or TargetException)
        {
            return false;
        }

        return ReferenceEquals(host.ReceiveTransportRetryPolicy, policy) && ReferenceEquals(host.SendTransportRetryPolicy, policy);
    }

    /// <summary>The policy the bus will use to reconnect its receive transports (what a test compares against).</summary>
    public static IRetryPolicy? CurrentPolicy(IRabbitMqBusFactoryConfigurator configurator) =>
        HostConfigurationOf(configurator)?.ReceiveTransportRetryPolicy;

    private static IHostConfiguration? HostConfigurationOf(IRabbitMqBusFactoryConfigurator configurator) =>
        configurator.GetType().GetField(HostConfigurationField, BindingFlags.Instance | BindingFlags.NonPublic)
            ?.GetValue(configurator) as IHostConfiguration;
}
