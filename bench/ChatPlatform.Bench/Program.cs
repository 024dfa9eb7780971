using System.Net.WebSockets;
using ChatPlatform.Bench;

try
{
    var options = BenchOptions.Parse(args);
    return options.Mode switch
    {
        "ping" => await PingBench.RunAsync(options),
        "signaling" => await SignalingBench.RunAsync(options),
        "relay" => await RelayBench.RunAsync(options),
        "idle" => await IdleBench.RunAsync(options),
        "outage" => await OutageBench.RunAsync(options),
        _ => Help(),
    };
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine(exception.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}
catch (Exception exception) when (exception is HttpRequestException or WebSocketException or TimeoutException or InvalidOperationException)
{
    // The stack is up but not answering as the protocol says (or not up at all): a one-line reason beats a trace.
    Console.Error.WriteLine($"bench failed: {exception.Message}");
    return 1;
}

static int Help()
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}
