using ChatPlatform.Delivery.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace ChatPlatform.Delivery.Tests;

/// <summary>
/// A fresh, migrated database on the real PostgreSQL server for one test class, dropped afterwards.
/// The server comes from ConnectionStrings__Chat (set by ./chat test), else the local default.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    private readonly NpgsqlConnectionStringBuilder _server = new(
        Environment.GetEnvironmentVariable("ConnectionStrings__Chat")
        ?? "Host=127.0.0.1;Port=5432;Database=postgres;Username=postgres;Password=postgres;SSL Mode=Disable");

    public string ConnectionString { get; private set; } = "";

    public ChatDbContext NewContext() =>
        new(new DbContextOptionsBuilder<ChatDbContext>().UseNpgsql(ConnectionString).Options);

    public async ValueTask InitializeAsync()
    {
        var name = $"chat_unit_{DateTime.UtcNow:yyyyMMddHHmmss}_{Guid.NewGuid():N}"[..40];
        ConnectionString = new NpgsqlConnectionStringBuilder(_server.ConnectionString) { Database = name, Pooling = true }.ConnectionString;
        await using var db = NewContext();
        await db.Database.MigrateAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        var admin = new NpgsqlConnectionStringBuilder(_server.ConnectionString) { Database = "postgres" };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync();
        var database = new NpgsqlConnectionStringBuilder(ConnectionString).Database;
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
