using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChatPlatform.ServiceDefaults.Messaging;

public static class MessagingExtensions
{
    /// <summary>Queues named with this prefix belong to one running instance and vanish with it.</summary>
    public const string InstanceQueuePrefix = "instance-";

    public static bool IsInstanceQueue(string queueName) =>
        queueName.StartsWith(InstanceQueuePrefix, StringComparison.Ordinal);

    /// <summary>
    /// MassTransit over RabbitMQ, configured once for every service: quorum queues for durable endpoints,
    /// publisher confirms, and a host that does not serve before the bus is up.
    /// </summary>
    public static IHostApplicationBuilder AddChatMessaging(
        this IHostApplicationBuilder builder,
        Action<IBusRegistrationConfigurator>? configure = null)
    {
        var connectionString = builder.Configuration.GetConnectionString(MessagingOptions.ConnectionStringName);
        builder.Services.AddOptions<MessagingOptions>()
            .BindConfiguration(MessagingOptions.Section)
            .Configure(options =>
            {
                if (!string.IsNullOrEmpty(connectionString))
                {
                    options.ConnectionString = connectionString;
                }
            })
            .ValidateDataAnnotations()
            .Validate(options => Uri.TryCreate(options.ConnectionString, UriKind.Absolute, out var uri)
                                 && uri.Scheme is "amqp" or "amqps",
                "ConnectionStrings:RabbitMq must be an amqp:// or amqps:// URI.")
            .Validate(options => options.ConsumerStopTimeout <= options.StopTimeout,
                "Messaging:ConsumerStopTimeout must not be longer than Messaging:StopTimeout.")
            .Validate(options => options.ReconnectDelay <= options.MaxReconnectDelay,
                "Messaging:ReconnectDelay must not be longer than Messaging:MaxReconnectDelay.")
            .ValidateOnStart();

        builder.Services.AddOptions<MassTransitHostOptions>()
            .Configure<IOptions<MessagingOptions>>((host, messaging) =>
            {
                host.WaitUntilStarted = true;
                host.StartTimeout = messaging.Value.StartTimeout;
                host.StopTimeout = messaging.Value.StopTimeout;
                host.ConsumerStopTimeout = messaging.Value.ConsumerStopTimeout;
            });

        builder.Services.AddSingleton<BrokerHealthConnection>();
        builder.Services.AddHealthChecks().AddRabbitMQ(
            services => services.GetRequiredService<BrokerHealthConnection>().GetAsync(),
            name: "rabbitmq",
            tags: [Extensions.ReadyTag],
            timeout: TimeSpan.FromSeconds(5));

        builder.Services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            // MassTransit 8.5 reports usage to masstransit.io by default: an outbound call from every operator's
            // deployment that nobody asked for (and a failed DNS lookup in each log where there is no internet).
            bus.DisableUsageTelemetry();
            configure?.Invoke(bus);
            bus.AddConfigureEndpointsCallback((_, name, endpoint) =>
            {
                // Shared endpoints are quorum queues (replicated, with a delivery limit for poison messages);
                // per-instance queues stay classic auto-delete queues, which quorum queues cannot be.
                if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit && !IsInstanceQueue(name))
                {
                    rabbit.SetQuorumQueue();
                }
            });
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var options = context.GetRequiredService<IOptions<MessagingOptions>>().Value;
                rabbit.Host(new Uri(options.ConnectionString), host =>
                {
                    host.PublisherConfirmation = true;
                    host.Heartbeat(options.Heartbeat);
                });
                if (!BrokerReconnect.TryApply(rabbit, BrokerReconnect.Policy(options)))
                {
                    context.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BrokerReconnect)).LogWarning(
                        "This MassTransit keeps its reconnect policy elsewhere: its own schedule (up to about 38 s between tries) is in force, not Messaging:ReconnectDelay/MaxReconnectDelay");
                }

                rabbit.ConfigureEndpoints(context);
            });
        });
        return builder;
    }
}
