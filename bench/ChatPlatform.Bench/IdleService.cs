namespace ChatPlatform.Bench;

/// <summary>
/// An endpoint whose idle sockets the idle bench holds: its path, the frame that puts a socket in a room, the answer
/// that frame waits for, and where `./chat up` starts the service's first instance.
/// </summary>
internal sealed record IdleService(string Name, string Path, string JoinType, string JoinedType, Uri FirstInstance)
{
    /// <summary>A relay socket subscribed to a room: a subscription, a catch-up from storage, the room's fan-out.</summary>
    public static readonly IdleService Relay = new("relay", "/ws/relay", "subscribe", "subscribed", new Uri("http://127.0.0.1:5201/"));

    /// <summary>A signaling socket joined to a room: presence across instances, ready for offers and ICE.</summary>
    public static readonly IdleService Signaling = new("signaling", "/ws/signaling", "join", "joined", new Uri("http://127.0.0.1:5101/"));

    public static IdleService Named(string name) => name switch
    {
        "relay" => Relay,
        "signaling" => Signaling,
        _ => throw new ArgumentException($"--service is relay or signaling, not '{name}'."),
    };

    /// <summary>The frame that puts a socket in a quiet room of its own; a relay also asks for what it missed (nothing).</summary>
    public object JoinFrame(string roomId) =>
        this == Relay ? new { type = JoinType, roomId, afterSeq = 0 } : new { type = JoinType, roomId };
}
