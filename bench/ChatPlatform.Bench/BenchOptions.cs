using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>Command line of the bench tool. Every run is bounded in time and count and talks to loopback only.</summary>
internal sealed record BenchOptions(string Mode, Uri Gateway, int Clients, int Seconds, int Rate, IReadOnlyList<Uri> Direct)
{
    public const int MaxClients = 20_000;
    public const int MaxSeconds = 600;

    public static BenchOptions Parse(string[] args)
    {
        var mode = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "help";
        var options = new BenchOptions(mode, new Uri("http://127.0.0.1:8080/"), Clients: 10, Seconds: 10, Rate: 100, Direct: []);
        for (var i = mode == "help" ? 0 : 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--gateway" => options with { Gateway = new Uri(value) },
                "--clients" => options with { Clients = Bounded(value, 1, MaxClients, "--clients") },
                "--seconds" => options with { Seconds = Bounded(value, 1, MaxSeconds, "--seconds") },
                "--rate" => options with { Rate = Bounded(value, 1, 100_000, "--rate") },
                "--direct" => options with { Direct = value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(url => new Uri(url)).ToList() },
                _ => throw new ArgumentException($"Unknown option {args[i]}"),
            };
            i++;
        }

        if (!options.Gateway.IsLoopback || options.Direct.Any(url => !url.IsLoopback))
        {
            throw new ArgumentException("The bench only targets a gateway on this machine (loopback).");
        }

        return options;
    }

    private static int Bounded(string value, int min, int max, string name)
    {
        var number = int.Parse(value, CultureInfo.InvariantCulture);
        return number >= min && number <= max ? number : throw new ArgumentException($"{name} must be {min}-{max}");
    }

    public const string Usage = """
        ChatPlatform bench (loopback only, bounded in time and count)

          ping   --clients N --rate R --seconds S   open N relay sockets through the gateway and send R pings/s in all
                                                    (open loop); report the ping→pong round trip p50/p95/p99/max
          signaling --clients P --rate R --seconds S [--direct http://127.0.0.1:5101/,http://127.0.0.1:5102/]
                                                    P pairs of peers, each in a room of its own; with --direct the two
                                                    peers of a pair sit on different instances. Reports join → joined
                                                    latency and offer relay latency (send → the peer receives it)
          common: --gateway http://127.0.0.1:8080/  (tokens always come from the gateway)

        The durable-path benchmark (relay) comes with the message path.
        """;
}
