using ChatPlatform.Delivery.History;
using ChatPlatform.Delivery.Messages;
using ChatPlatform.Delivery.Storage;
using ChatPlatform.ServiceDefaults.Messaging;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OpenTelemetry.Trace;

namespace ChatPlatform.Delivery;

public static class Extensions
{
    public const string ConnectionStringName = "Chat";

    public static IHostApplicationBuilder AddDelivery(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} (PostgreSQL) is not set.");

        builder.Services.AddOptions<DeliveryOptions>()
            .BindConfiguration(DeliveryOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddDbContextPool<ChatDbContext>(options => options.UseNpgsql(connectionString));
        builder.Services.AddScoped<MessageStore>();
        builder.Services.AddHealthChecks().AddNpgSql(connectionString, name: "postgresql", tags: [ServiceDefaults.Extensions.ReadyTag]);
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddNpgsql());

        builder.AddChatMessaging(bus => bus.AddConsumer<MessageSubmittedConsumer>());
        return builder;
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
