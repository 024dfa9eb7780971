using Npgsql;

namespace ChatPlatform.IntegrationTests.Infrastructure;

/// <summary>
/// The whole platform as real processes: Delivery, Relay, Signaling and the Gateway in front, on free ports,
/// against real RabbitMQ and PostgreSQL, with a database of its own that is dropped at the end.
/// </summary>
public sealed class ChatStack : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly List<ServiceProcess> _processes = [];
    private readonly string _runId = $"{DateTime.UtcNow:yyyyMMddHHmmss}_{Guid.NewGuid().ToString("N")[..6]}";
    private readonly bool _secondInstances;
    private readonly IReadOnlyDictionary<string, string> _environment;
    // The backends the gateway routes to, by cluster: the ones the stack started, not the extras a test adds.
    private readonly List<(string Cluster, ServiceProcess Instance)> _destinations = [];

    /// <summary>The shared stack: two instances of every backend service.</summary>
    public ChatStack()
        : this(secondInstances: true, new Dictionary<string, string>())
    {
    }

    /// <summary>
    /// A stack of its own for tests that need every service configured differently. Without second instances it
    /// starts in about half the time; <see cref="Relay2"/>, <see cref="Signaling2"/> and <see cref="Delivery2"/> stay null.
    /// </summary>
    internal ChatStack(bool secondInstances, IReadOnlyDictionary<string, string> environment)
    {
        _secondInstances = secondInstances;
        _environment = environment;
    }

    public Servers Servers { get; private set; } = null!;

    public string DatabaseConnectionString { get; private set; } = "";

    public ServiceProcess Gateway { get; private set; } = null!;

    public ServiceProcess Relay { get; private set; } = null!;

    /// <summary>A second Relay instance behind the gateway: a room's members may sit on either.</summary>
    public ServiceProcess Relay2 { get; private set; } = null!;

    public ServiceProcess Signaling { get; private set; } = null!;

    /// <summary>A second Signaling instance behind the gateway: peers on different instances must meet.</summary>
    public ServiceProcess Signaling2 { get; private set; } = null!;

    public ServiceProcess Delivery { get; private set; } = null!;

    /// <summary>A second Delivery instance: both consume, store and dispatch the outbox at once.</summary>
    public ServiceProcess Delivery2 { get; private set; } = null!;

    public Uri GatewayUrl => Gateway.Url;

    public Uri GatewayHttpsUrl { get; private set; } = null!;

    public string LogDirectory { get; private set; } = "";

    public IReadOnlyList<ServiceProcess> Processes => _processes;

    public async ValueTask InitializeAsync()
    {
        LogDirectory = Path.Combine(Repository.Root, ".chat", "test-logs", _runId);
        Directory.CreateDirectory(LogDirectory);
        Servers = await Servers.StartAsync();
        TestContext.Current.SendDiagnosticMessage($"Integration stack uses {Servers.Description}; logs in {LogDirectory}");

        DatabaseConnectionString = new NpgsqlConnectionStringBuilder(Servers.PostgresConnectionString)
        {
            Database = $"chat_it_{_runId}",
        }.ConnectionString;

        // The migrator step, as ./chat up and compose run it: before any Delivery instance serves.
        var migrator = Launch("delivery-migrator", "Delivery", FreePort.Next(), "migrate");
        var exitCode = await migrator.WaitForExitAsync(StartTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"Migration failed ({exitCode}):\n{migrator.Tail()}");
        }

        Delivery = StartDestination("delivery", "delivery-1", "Delivery");
        Relay = StartDestination("relay", "relay-1", "Relay");
        Signaling = StartDestination("signaling", "signaling-1", "Signaling");
        if (_secondInstances)
        {
            Delivery2 = StartDestination("delivery", "delivery-2", "Delivery");
            Relay2 = StartDestination("relay", "relay-2", "Relay");
            Signaling2 = StartDestination("signaling", "signaling-2", "Signaling");
        }

        await Task.WhenAll(_destinations.Select(destination => destination.Instance.WaitUntilReadyAsync(StartTimeout)));

        Gateway = StartGateway("gateway", new Dictionary<string, string>());
        await Gateway.WaitUntilReadyAsync(StartTimeout);
    }

    /// <summary>
    /// Waits until every instance of the stack reports ready, every receive endpoint included (MassTransit reports
    /// one still reconnecting as degraded, which is not ready): a test that restarted RabbitMQ or PostgreSQL hands the
    /// next test a stack that has recovered, not one whose queues are still coming back.
    /// </summary>
    public async Task WaitUntilEveryServiceIsReadyAsync()
    {
        ServiceProcess?[] instances = [Gateway, Relay, Relay2, Signaling, Signaling2, Delivery, Delivery2];
        await Task.WhenAll(instances.OfType<ServiceProcess>().Select(instance => instance.WaitUntilReadyAsync(StartTimeout)));
    }

    /// <summary>
    /// Starts an instance again after it was stopped or killed, on the same port (so the gateway finds it), and
    /// waits until it is ready. It takes the stopped one's place in the stack, so a later test that stops or kills
    /// that instance stops the running process, not the one that already exited.
    /// </summary>
    public async Task<ServiceProcess> RestartAsync(ServiceProcess stopped, string service)
    {
        var process = Launch(stopped.Name, service, stopped.Url.Port);
        await process.WaitUntilReadyAsync(StartTimeout);
        Delivery = Delivery == stopped ? process : Delivery;
        Delivery2 = Delivery2 == stopped ? process : Delivery2;
        Relay = Relay == stopped ? process : Relay;
        Relay2 = Relay2 == stopped ? process : Relay2;
        Signaling = Signaling == stopped ? process : Signaling;
        Signaling2 = Signaling2 == stopped ? process : Signaling2;
        return process;
    }

    /// <summary>Starts one more instance of a backend service (not yet ready when this returns).</summary>
    public ServiceProcess StartService(string instanceId, string service, IReadOnlyDictionary<string, string>? settings = null) =>
        Launch(instanceId, service, FreePort.Next(), settings: settings);

    private ServiceProcess StartDestination(string cluster, string instanceId, string service)
    {
        var instance = StartService(instanceId, service);
        _destinations.Add((cluster, instance));
        return instance;
    }

    /// <summary>A gateway in front of the stack's backends; <paramref name="settings"/> override its configuration.</summary>
    public ServiceProcess StartGateway(string instanceId, IReadOnlyDictionary<string, string> settings)
    {
        var httpsPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort};https://127.0.0.1:{httpsPort}",
            ["Gateway__WebRoot"] = Repository.WebClientFolder,
            ["Gateway__DevCertificatePath"] = Path.Combine(Repository.Root, ".chat", "dev-cert.pfx"),
        };
        foreach (var (cluster, instance) in _destinations)
        {
            environment[$"ReverseProxy__Clusters__{cluster}__Destinations__{instance.Name}__Address"] = instance.Url.ToString();
        }

        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        if (instanceId == "gateway")
        {
            GatewayHttpsUrl = new Uri($"https://127.0.0.1:{httpsPort}/");
        }

        return Launch(instanceId, "Gateway", httpPort, settings: environment);
    }

    private ServiceProcess Launch(string instanceId, string service, int port, string? argument = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var url = new Uri($"http://127.0.0.1:{port}/");
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ConnectionStrings__Chat"] = DatabaseConnectionString,
            ["ConnectionStrings__RabbitMq"] = Servers.RabbitMqConnectionString,
            ["Service__InstanceId"] = $"{instanceId}-{_runId}",
        };
        foreach (var (key, value) in _environment)
        {
            environment[key] = value;
        }

        if (service == "Signaling")
        {
            // Presence heals and dead instances are dropped in seconds here, not the production ~25 s.
            environment["Signaling__HeartbeatInterval"] = "00:00:01";
            environment["Signaling__InstanceTimeout"] = "00:00:04";
        }

        if (service == "Relay")
        {
            // Faults are tested in seconds: a send the broker cannot confirm fails fast, and the client retries.
            environment["Relay__PublishTimeout"] = "00:00:02";
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = ServiceProcess.Start(instanceId, Repository.ServiceDll(service), url, environment, LogDirectory,
            argument is null ? [] : [argument]);
        _processes.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }

        if (DatabaseConnectionString.Length > 0)
        {
            await DropDatabaseAsync();
        }

        if (Servers is not null)
        {
            await Servers.DisposeAsync();
        }
    }

    private async Task DropDatabaseAsync()
    {
        NpgsqlConnection.ClearAllPools();
        var admin = new NpgsqlConnectionStringBuilder(DatabaseConnectionString) { Database = "postgres" };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync();
        var name = new NpgsqlConnectionStringBuilder(DatabaseConnectionString).Database;
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<ChatStack>
{
    public const string Name = "stack";
}

/// <summary>Where the repository and the services' build output are.</summary>
public static class Repository
{
    public static readonly string Root = FindRoot();

    // bin/<Configuration>/net10.0 of this test project tells which build of the services to start.
    private static readonly string Configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public static string ServiceDll(string service)
    {
        var path = Path.Combine(Root, "services", service, "bin", Configuration, "net10.0", $"ChatPlatform.{service}.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {service} first ({Configuration}).", path);
    }

    public static string WebClientFolder
    {
        get
        {
            var dist = Path.Combine(Root, "clients", "web", "dist");
            return Directory.Exists(dist) ? dist : Path.Combine(Root, "clients", "web", "public");
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ChatPlatform.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("ChatPlatform.sln not found above " + AppContext.BaseDirectory);
    }
}
