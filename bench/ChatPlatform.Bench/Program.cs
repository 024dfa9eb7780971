using ChatPlatform.Bench;

try
{
    var options = BenchOptions.Parse(args);
    return options.Mode switch
    {
        "ping" => await PingBench.RunAsync(options),
        "signaling" => await SignalingBench.RunAsync(options),
        _ => Help(),
    };
}
catch (ArgumentException exception)
{
    Console.Error.WriteLine(exception.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

static int Help()
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}
