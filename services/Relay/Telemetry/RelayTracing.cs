using System.Diagnostics;

namespace ChatPlatform.Relay.Telemetry;

/// <summary>
/// The relay's spans of a chat message's trace: <c>chat.send</c> (a client's send until the broker confirmed it),
/// <c>chat.submit</c> (the publish of a batch of sends) and <c>chat.push</c> (a stored message handed to the room's
/// subscribers). Recorded only when traces are exported (ServiceDefaults listens to <c>ChatPlatform.*</c>).
/// </summary>
public static class RelayTracing
{
    public const string Send = "chat.send";
    public const string Submit = "chat.submit";
    public const string Push = "chat.push";

    public static readonly ActivitySource Source = new(RelayMetrics.MeterName);
}
