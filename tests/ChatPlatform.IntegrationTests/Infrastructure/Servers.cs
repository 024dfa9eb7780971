using System.Diagnostics;
using System.Net.Sockets;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace ChatPlatform.IntegrationTests.Infrastructure;

/// <summary>RabbitMQ and PostgreSQL for the stack: containers when a Docker engine answers, else the local servers.</summary>
public abstract class Servers : IAsyncDisposable
{
    public abstract string Description { get; }

    /// <summary>The PostgreSQL server (any database; the stack makes its own).</summary>
    public abstract string PostgresConnectionString { get; }

    public abstract string RabbitMqConnectionString { get; }

    /// <summary>Stops the broker (connections drop, nothing accepted) until <see cref="StartBrokerAsync"/>.</summary>
    public abstract Task StopBrokerAsync();

    public abstract Task StartBrokerAsync();

    /// <summary>Stops PostgreSQL (fast shutdown: open connections are cut, as in a crash or a failover).</summary>
    public abstract Task StopDatabaseAsync();

    public abstract Task StartDatabaseAsync();

    public abstract ValueTask DisposeAsync();

    public static async Task<Servers> StartAsync()
    {
        var choice = Environment.GetEnvironmentVariable("CHAT_TEST_SERVERS");
        if (choice != "local" && (choice == "containers" || await DockerEngineAnswersAsync()))
        {
            return await ContainerServers.CreateAsync();
        }

        return await LocalServers.CreateAsync();
    }

    private static async Task<bool> DockerEngineAnswersAsync()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        var socketPath = host is { } value && value.StartsWith("unix://", StringComparison.Ordinal) ? value["unix://".Length..] : "/var/run/docker.sock";
        if (host is { Length: > 0 } && !host.StartsWith("unix://", StringComparison.Ordinal))
        {
            return true; // a remote engine was configured on purpose: let Testcontainers use it
        }

        if (!File.Exists(socketPath))
        {
            return false;
        }

        try
        {
            using var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            };
            using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(3) };
            return (await client.GetAsync(new Uri("http://docker/_ping"))).IsSuccessStatusCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or SocketException or TaskCanceledException)
        {
            return false;
        }
    }
}

/// <summary>
/// The servers ./chat test started (or the ones ConnectionStrings__* point at). On a local broker the run gets
/// a virtual host of its own, so a stack started by ./chat up on the same broker never sees the tests' traffic.
/// </summary>
internal sealed class LocalServers : Servers
{
    private readonly string? _virtualHost;

    private LocalServers(string rabbitMq, string? virtualHost)
    {
        RabbitMqConnectionString = rabbitMq;
        _virtualHost = virtualHost;
    }

    public override string Description =>
        $"local servers (no Docker engine answered): PostgreSQL and RabbitMQ on this machine{(_virtualHost is null ? "" : $", vhost {_virtualHost}")}";

    public override string PostgresConnectionString { get; } =
        Environment.GetEnvironmentVariable("ConnectionStrings__Chat")
        ?? "Host=127.0.0.1;Port=5432;Database=postgres;Username=postgres;Password=postgres;SSL Mode=Disable";

    public override string RabbitMqConnectionString { get; }

    public static async Task<LocalServers> CreateAsync()
    {
        var broker = new Uri(Environment.GetEnvironmentVariable("ConnectionStrings__RabbitMq") ?? "amqp://guest:guest@127.0.0.1:5672/");
        if (!broker.IsLoopback || !File.Exists("/usr/sbin/rabbitmqctl"))
        {
            return new LocalServers(broker.ToString(), null);
        }

        var virtualHost = $"chat_it_{DateTime.UtcNow:yyyyMMddHHmmss}_{Guid.NewGuid().ToString("N")[..6]}";
        var user = Uri.UnescapeDataString(broker.UserInfo.Split(':')[0]);
        await RabbitMqCtlAsync("add_vhost", virtualHost);
        await RabbitMqCtlAsync("set_permissions", "-p", virtualHost, user, ".*", ".*", ".*");
        return new LocalServers(new UriBuilder(broker) { Path = "/" + virtualHost }.Uri.ToString(), virtualHost);
    }

    // stop_app stops the broker inside a running node: clients are cut off exactly as in an outage,
    // and start_app brings it back in about a second instead of a full node boot.
    public override Task StopBrokerAsync() => RabbitMqCtlAsync("stop_app");

    public override async Task StartBrokerAsync()
    {
        await RabbitMqCtlAsync("start_app");
        await RabbitMqCtlAsync("await_startup");
    }

    public override Task StopDatabaseAsync() => PgCtlClusterAsync("stop", "-m", "fast");

    public override Task StartDatabaseAsync() => PgCtlClusterAsync("start");

    /// <summary>The Debian cluster that listens on the connection string's port (./chat starts it with pg_ctlcluster).</summary>
    private async Task PgCtlClusterAsync(params string[] arguments)
    {
        var port = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString).Port;
        var clusters = await RunAsync("pg_lsclusters", "-h");
        var cluster = clusters.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .FirstOrDefault(fields => fields.Length > 2 && fields[2] == port.ToString(System.Globalization.CultureInfo.InvariantCulture))
            ?? throw new InvalidOperationException($"No local PostgreSQL cluster on port {port}:\n{clusters}");
        await RunAsync("pg_ctlcluster", [cluster[0], cluster[1], .. arguments]);
    }

    private static async Task<string> RunAsync(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}");
    }

    public override async ValueTask DisposeAsync()
    {
        if (_virtualHost is not null)
        {
            await RabbitMqCtlAsync("delete_vhost", _virtualHost);
        }
    }

    private static Task<string> RabbitMqCtlAsync(params string[] arguments) => RunAsync("/usr/sbin/rabbitmqctl", ["-q", .. arguments]);
}

internal sealed class ContainerServers(PostgreSqlContainer postgres, RabbitMqContainer rabbit) : Servers
{
    public override string Description => $"Testcontainers: {postgres.Image.FullName}, {rabbit.Image.FullName}";

    public override string PostgresConnectionString => postgres.GetConnectionString();

    public override string RabbitMqConnectionString => rabbit.GetConnectionString();

    public static async Task<ContainerServers> CreateAsync()
    {
        // A fixed host port, so that the services find the broker again after it restarts.
        var amqpPort = FreePort.Next();
        var postgresPort = FreePort.Next();
        var postgres = new PostgreSqlBuilder("postgres:15").WithPortBinding(postgresPort, 5432).Build();
        var rabbit = new RabbitMqBuilder("rabbitmq:3.13-management")
            .WithPortBinding(amqpPort, 5672).WithUsername("guest").WithPassword("guest").Build();
        await Task.WhenAll(postgres.StartAsync(), rabbit.StartAsync());
        return new ContainerServers(postgres, rabbit);
    }

    public override Task StopBrokerAsync() => rabbit.StopAsync();

    public override Task StartBrokerAsync() => rabbit.StartAsync();

    public override Task StopDatabaseAsync() => postgres.StopAsync();

    public override Task StartDatabaseAsync() => postgres.StartAsync();

    public override async ValueTask DisposeAsync()
    {
        await postgres.DisposeAsync();
        await rabbit.DisposeAsync();
    }
}

/// <summary>
/// Ports for the stack's instances, taken below the kernel's ephemeral range. A port the kernel hands out itself
/// (binding to port 0) is one it also gives outgoing connections, and a test that kills an instance and starts it
/// again on its port (the gateway knows it by that port) then finds it taken by some client's connection.
/// </summary>
internal static class FreePort
{
    private const int Span = 10_000;
    private const int RabbitMqDistributionPort = 25_672;
    private static readonly int First = EphemeralStart() - Span;
    private static int _offset = Random.Shared.Next(Span);

    public static int Next()
    {
        for (var attempt = 0; attempt < Span; attempt++)
        {
            var port = First + (Interlocked.Increment(ref _offset) % Span);
            if (port == RabbitMqDistributionPort)
            {
                // Free while a test has the broker stopped, and needed again when it starts it.
                continue;
            }

            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Taken: try the next one.
            }
        }

        throw new InvalidOperationException($"No free port between {First} and {First + Span}.");
    }

    private static int EphemeralStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) && int.TryParse(File.ReadAllText(range).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], out var start)
            ? Math.Max(start, Span + 1024)
            : 32_768;
    }
}
