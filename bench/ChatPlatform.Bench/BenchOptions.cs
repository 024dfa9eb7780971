using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>Command line of the bench tool. Every run is bounded in time and count and talks to loopback only.</summary>
internal sealed record BenchOptions(
    string Mode, Uri Gateway, int Clients, int Seconds, int Rate, IReadOnlyList<Uri> Direct,
    int Rooms = 2, bool FindMax = false, string? Plot = null)
{
    public const int MaxClients = 20_000;
    public const int MaxSeconds = 600;
    public const int MaxRate = 100_000;
    public const int MaxWarmupSeconds = 60;

    private const int OutageDefaultRate = 4;
    private const int OutageDefaultSeconds = 50;
    private const int OutageMaxRate = 20;

    private static readonly string[] IdleOnlyOptions = ["--connections", "--service", "--to", "--hold", "--pid"];

    /// <summary>
    /// Relay mode: seconds sent at the (first) rate in rooms of their own before anything is counted. Each run is a new
    /// bench process whose own code is compiled while it sends; without this its JIT shares the measured seconds.
    /// </summary>
    public int WarmupSeconds { get; init; } = 5;

    /// <summary>Idle mode: the sockets held open (the brief's target is about 10,000 on one Relay instance).</summary>
    public int Connections { get; init; } = 10_000;

    /// <summary>Idle mode: which endpoint the sockets open, relay or signaling, and so what "joining a room" means.</summary>
    public IdleService IdleService { get; init; } = IdleService.Relay;

    /// <summary>
    /// Idle mode: where the sockets go and whose memory is read: by default the first instance of the service that
    /// `./chat up` starts, straight; the gateway's URL measures the gateway instead, with the instances behind it.
    /// </summary>
    public Uri? To { get; init; }

    public Uri IdleTarget => To ?? IdleService.FirstInstance;

    /// <summary>Idle mode: how long the sockets are held, idle, after they are all subscribed.</summary>
    public int HoldSeconds { get; init; } = 30;

    /// <summary>Idle mode: the measured process; when not given it is found by the port it listens on.</summary>
    public int? ProcessId { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        var named = args.Length > 0 && !args[0].StartsWith('-');
        var mode = named ? args[0] : "help";
        var options = new BenchOptions(mode, new Uri("http://127.0.0.1:8080/"), Clients: 10, Seconds: 10, Rate: 100, Direct: []);
        for (var i = named ? 1 : 0; i < args.Length; i++)
        {
            // The only option without a value.
            if (args[i] == "--find-max")
            {
                options = options with { FindMax = true };
                continue;
            }

            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--gateway" => options with { Gateway = new Uri(value) },
                "--clients" => options with { Clients = Bounded(value, 1, MaxClients, "--clients") },
                "--seconds" => options with { Seconds = Bounded(value, 1, MaxSeconds, "--seconds") },
                "--rate" => options with { Rate = Bounded(value, 1, MaxRate, "--rate") },
                "--rooms" => options with { Rooms = Bounded(value, 1, MaxClients, "--rooms") },
                "--plot" => options with { Plot = SvgPath(value) },
                "--warmup" => options with { WarmupSeconds = Bounded(value, 0, MaxWarmupSeconds, "--warmup") },
                "--direct" => options with { Direct = value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(url => new Uri(url)).ToList() },
                "--connections" => options with { Connections = Bounded(value, 1, MaxClients, "--connections") },
                "--service" => options with { IdleService = IdleService.Named(value) },
                "--to" => options with { To = new Uri(value) },
                "--hold" => options with { HoldSeconds = Bounded(value, 0, MaxSeconds, "--hold") },
                "--pid" => options with { ProcessId = Bounded(value, 1, int.MaxValue, "--pid") },
                _ => throw new ArgumentException($"Unknown option {args[i]}"),
            };
            i++;
        }

        if (!options.Gateway.IsLoopback || !options.IdleTarget.IsLoopback || options.Direct.Any(url => !url.IsLoopback))
        {
            throw new ArgumentException("The bench only targets servers on this machine (loopback).");
        }

        if (options.Mode != "relay" && (options.FindMax || options.Plot is not null || args.Contains("--warmup")))
        {
            throw new ArgumentException("--find-max, --plot and --warmup belong to the relay mode.");
        }

        if (options.Mode != "idle" && args.Any(IdleOnlyOptions.Contains))
        {
            throw new ArgumentException($"{string.Join(", ", IdleOnlyOptions)} belong to the idle mode.");
        }

        if (options.Mode == "outage")
        {
            // One user: its own pace, not the load modes' defaults.
            options = options with
            {
                Rate = args.Contains("--rate") ? options.Rate : OutageDefaultRate,
                Seconds = args.Contains("--seconds") ? options.Seconds : OutageDefaultSeconds,
            };
            if (options.Rate > OutageMaxRate)
            {
                throw new ArgumentException($"outage --rate must be 1-{OutageMaxRate}: one user, inside its connection's frame budget");
            }
        }

        if (options.Mode == "relay" && options.Rooms > options.Clients)
        {
            // An empty room would send nothing and receive nothing, and skew the per-room figures.
            throw new ArgumentException("--rooms must not exceed --clients");
        }

        return options;
    }

    private static int Bounded(string value, int min, int max, string name)
    {
        var number = int.Parse(value, CultureInfo.InvariantCulture);
        return number >= min && number <= max ? number : throw new ArgumentException($"{name} must be {min}-{max}");
    }

    private static string SvgPath(string value) =>
        value.Length <= 260 && value.EndsWith(".svg", StringComparison.OrdinalIgnoreCase) && value.Trim().Length == value.Length
            ? value
            : throw new ArgumentException("--plot must be a file path (at most 260 characters) ending in .svg");

    public const string Usage = """
        ChatPlatform bench (loopback only, bounded in time and count)

          ping   --clients N --rate R --seconds S   open N relay sockets through the gateway and send R pings/s in all
                                                    (open loop); report the ping→pong round trip p50/p95/p99/max
          signaling --clients P --rate R --seconds S [--direct http://127.0.0.1:5101/,http://127.0.0.1:5102/]
                                                    P pairs of peers, each in a room of its own; with --direct the two
                                                    peers of a pair sit on different instances. Reports join → joined
                                                    latency and offer relay latency (send → the peer receives it)
          relay  --clients N --rooms M --rate R --seconds S [--find-max] [--plot file.svg] [--warmup W]
                                                    the durable path: N users (one socket each) spread round robin over
                                                    M fresh rooms, R msg/s in all (R/N per client, open loop). Every
                                                    member, the sender included, must get each message once and in seq
                                                    order. Reports sent/accepted/errors, deliveries expected/received/
                                                    lost/duplicated/out of order, how many of a sender's own messages
                                                    came back behind a later one of its own (out of its sender's order),
                                                    send and delivery rates, scheduled →
                                                    delivered latency p50/p95/p99/max and scheduled → accepted p50/p99,
                                                    and, on Linux, the CPUs busy while sending and how much of that time
                                                    a thread waited for a CPU (/proc/pressure/cpu): the bench shares the
                                                    machine, and a high share means the tail is waiting for a core.
                                                    Exit 1 on any loss or duplicate
                 --find-max                         steps of S seconds each from R up ×1.5 (fresh rooms, at most 12
                                                    rates and 100,000 msg/s) until p99 > 50 ms, a loss or a duplicate;
                                                    a step whose p99 is over 50 ms is run once more and counts only
                                                    if it misses again (one stall decides a short step's p99); prints
                                                    the highest sustained rate
                 --plot file.svg                    write an SVG: per-second p50/p99/max over the run, or with
                                                    --find-max p50/p99 against the rate
                 --warmup W                         first send W s (default 5, 0 for none) at R msg/s in rooms of
                                                    their own, latency not counted: the bench is a new process each
                                                    run, and its own JIT would otherwise run inside the measured
                                                    seconds; a loss or a duplicate in it still exits 1
          idle   --connections N [--service relay|signaling] [--to URL] [--hold S] [--pid P]
                                                    the memory of idle connections on ONE process: N sockets
                                                    (default 10,000; one token from the gateway for all), 200 opening
                                                    at a time, to /ws/relay (default) or /ws/signaling of --to: by
                                                    default the service's first instance, straight (relay
                                                    http://127.0.0.1:5201/, signaling http://127.0.0.1:5101/); the
                                                    gateway's URL (http://127.0.0.1:8080/) measures the gateway, which
                                                    proxies each socket to an instance (start it with
                                                    Gateway__UpgradeRate__Burst and __PerSecond raised, or opening
                                                    waits out its per-IP limit of 20 upgrades/s). Each socket is
                                                    welcomed, then subscribed (relay) or joined (signaling) to a quiet
                                                    room of its own, then held S s (default 30) with no frame sent.
                                                    Reads the process's VmRSS (/proc) and managed heap (its /metrics)
                                                    after a forced full collection and a 10 s settle: before, welcomed,
                                                    subscribed, held, closed. Reports opening time, failures, drops and
                                                    the cost per connection. Exit 1 on a failure or a drop. The pid is
                                                    found by the port of --to unless --pid names it
          outage [--rate R] [--seconds S]           one user through a server's outage (run it as ./chat bench outage
                                                    --restart rabbitmq|postgresql [--at A] [--down D], which stops that
                                                    server A s into the run, default 12, and starts it D s after it has
                                                    stopped, default 3): R new messages/s (default 4) for S s (default
                                                    50), a refused or unanswered id sent again after 1 s (at most
                                                    16 a second), the socket resumed if it closes. Reports when sends
                                                    were refused, the longest
                                                    stretches with nothing accepted and nothing stored, and first send
                                                    → stored. Exit 1 if a message is never stored or stored twice
          common: --gateway http://127.0.0.1:8080/  (tokens always come from the gateway)
        """;
}
