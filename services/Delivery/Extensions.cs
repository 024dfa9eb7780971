using ChatPlatform.Delivery.Cursors;
using ChatPlatform.Delivery.History;
using ChatPlatform.Delivery.Messages;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using ChatPlatform.Delivery.Telemetry;
using ChatPlatform.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OpenTelemetry.Trace;

namespace ChatPlatform.Delivery;

public static class Extensions
{
    public const string ConnectionStringName = "Chat";

    /// <summary>The queue of submitted messages, consumed by one Delivery instance at a time, in order.</summary>
    public const string SubmittedQueue = "messages-submitted-in-order";

    /// <summary>The queue of the relays' history requests (the name MassTransit gave it, kept).</summary>
    public const string HistoryQueue = "history-requested";

    public static IHostApplicationBuilder AddDelivery(this IHostApplicationBuilder builder)
    {
        var connectionString = WithStatementCache(builder.Configuration.GetConnectionString(ConnectionStringName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} (PostgreSQL) is not set."));

        builder.Services.AddOptions<DeliveryOptions>()
            .BindConfiguration(DeliveryOptions.Section)
            .ValidateDataAnnotations()
            .Validate(options => options.RetryMaxInterval >= options.RetryMinInterval,
                "Delivery:RetryMaxInterval must not be shorter than Delivery:RetryMinInterval.")
            .Validate(options => options.OutboxDeleteInterval * 2 <= options.OutboxClaimDelay,
                "Delivery:OutboxDeleteInterval must be at most half of Delivery:OutboxClaimDelay.")
            .ValidateOnStart();
        // The bus is configured before options can be resolved; the same values are validated at start above.
        var settings = builder.Configuration.GetSection(DeliveryOptions.Section).Get<DeliveryOptions>() ?? new DeliveryOptions();

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddDbContextPool<ChatDbContext>(options => options.UseNpgsql(connectionString));
        builder.Services.AddScoped<MessageStore>();
        builder.Services.AddScoped<CursorStore>();
        builder.Services.AddSingleton<DeliveryMetrics>();
        builder.Services.AddSingleton(services => new OutboxSignal(settings.OutboxHandoffCapacity, services.GetRequiredService<TimeProvider>()));
        // Before the bus (registered below), so no message is taken before the store is warm.
        builder.Services.AddHostedService<StoreWarmup>();
        builder.Services.AddSingleton<StoreMessages>(services => async (messages, cancellationToken) =>
        {
            await using var scope = services.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<MessageStore>().StoreAsync(messages, cancellationToken);
        });
        // Also before the bus: the bus stops first, and its consume calls wait here for their batches.
        builder.Services.AddSingleton<SubmitSequencer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SubmitSequencer>());
        builder.Services.AddHostedService<OutboxDispatcher>();
        builder.Services.AddHealthChecks().AddNpgSql(connectionString, name: "postgresql", tags: [ServiceDefaults.Extensions.ReadyTag]);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddNpgsql());

        builder.AddChatMessaging(bus =>
        {
            bus.AddConsumer<MessagesSubmittedConsumer>().Endpoint(endpoint =>
            {
                // A room's messages keep the order in which its relays published them only if one consumer takes
                // them in queue order: one active instance at a time (the others stand by and take over when it
                // goes), and the sequencer orders what that instance has in hand. The queue is new with this rule:
                // the broker refuses to redeclare a queue with other arguments (see docs/operations.md).
                endpoint.Name = SubmittedQueue;
                endpoint.ConcurrentMessageLimit = settings.StoreConcurrency;
                endpoint.PrefetchCount = settings.StoreConcurrency * 2;
                endpoint.AddConfigureEndpointCallback(receive =>
                {
                    if (receive is IRabbitMqReceiveEndpointConfigurator rabbit)
                    {
                        rabbit.SingleActiveConsumer = true;
                    }
                });
            });
            bus.AddConsumer<CursorsAdvancedConsumer>();
            bus.AddConsumer<HistoryRequestedConsumer>().Endpoint(endpoint => endpoint.Name = HistoryQueue);
            // Transient faults (PostgreSQL restarting, a deadlock) are retried in place with exponential backoff;
            // what still fails goes to the endpoint's error queue and is counted there. History requests are reads a
            // relay waits for only briefly: a few retries, then the fault answers the relay and the request is dropped.
            bus.AddConfigureEndpointsCallback((_, name, endpoint) =>
            {
                var history = name == HistoryQueue;
                endpoint.UseMessageRetry(retry => retry.Exponential(history ? settings.HistoryRetryLimit : settings.RetryLimit,
                    settings.RetryMinInterval, settings.RetryMaxInterval, settings.RetryMinInterval));
                if (history)
                {
                    endpoint.DiscardFaultedMessages();
                }
            });
        });
        builder.Services.AddReceiveObserver<ErrorQueueObserver>();
        return builder;
    }

    /// <summary>
    /// Delivery runs the same few statements thousands of times a second. Prepared on each pooled connection, they
    /// are no longer parsed every time; with generic plans they are planned once per connection instead of on each of
    /// their first five runs (the store's plan alone took 1–2 ms); and since prepared statements must survive a
    /// connection's return to the pool, the pool does not reset the session (Delivery sets no session state). Each of
    /// Delivery's statements looks rows up by key, so a generic plan is the plan a custom one would be. A connection
    /// string that sets one of these keeps its value.
    /// </summary>
    internal static string WithStatementCache(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        // The plain builder keeps the keywords as written, so it tells what the connection string itself sets.
        var written = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!written.ContainsKey("Max Auto Prepare"))
        {
            settings.MaxAutoPrepare = 32;
        }

        if (!written.ContainsKey("No Reset On Close"))
        {
            settings.NoResetOnClose = true;
        }

        if (settings.Options?.Contains("plan_cache_mode", StringComparison.Ordinal) != true)
        {
            settings.Options = $"{settings.Options} -c plan_cache_mode=force_generic_plan".Trim();
        }

        return settings.ConnectionString;
    }

    public static WebApplication MapDelivery(this WebApplication app)
    {
        app.MapHistory();
        return app;
    }

    /// <summary>The migrator step: applies pending migrations and returns. Run once before the instances start.</summary>
    public static async Task MigrateDatabaseAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ChatDbContext>();
        var logger = scope.ServiceProvider.GetRequiredService<ILogger<ChatDbContext>>();
        var pending = (await db.Database.GetPendingMigrationsAsync()).ToList();
        logger.LogInformation("Applying {Count} migration(s): {Migrations}", pending.Count, string.Join(", ", pending));
        await db.Database.MigrateAsync();
    }
}
