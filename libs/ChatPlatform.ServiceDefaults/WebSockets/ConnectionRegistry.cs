using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ChatPlatform.ServiceDefaults.Hosting;
using Microsoft.Extensions.Options;

namespace ChatPlatform.ServiceDefaults.WebSockets;

/// <summary>
/// The open client sockets of this process: counted for metrics, closed with 1001 on shutdown. The gateway serves no
/// socket itself; it counts those it passes on to an instance, which drains them.
/// </summary>
public sealed class ConnectionRegistry
{
    public const string MeterName = "ChatPlatform.Connections";

    private readonly ConcurrentDictionary<string, WebSocketSession> _sessions = new(StringComparer.Ordinal);
    private readonly Counter<long> _attempts;
    private readonly KeyValuePair<string, object?> _serviceTag;
    private int _proxied;

    public ConnectionRegistry(IMeterFactory meterFactory, IOptions<ServiceIdentity> identity)
    {
        _serviceTag = new("service", identity.Value.Name);
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge(
            "chat_connections",
            () => new Measurement<int>(_sessions.Count + Volatile.Read(ref _proxied), _serviceTag),
            description: "Open client WebSocket connections.");
        _attempts = meter.CreateCounter<long>(
            "chat_connection_attempts",
            description: "WebSocket connection attempts that reached the service, by result.");
        foreach (var result in ConnectionResults.All)
        {
            _attempts.Add(0, _serviceTag, new("result", result));
        }
    }

    public int Count => _sessions.Count;

    public ICollection<WebSocketSession> Sessions => _sessions.Values;

    public bool TryGet(string clientId, out WebSocketSession? session) => _sessions.TryGetValue(clientId, out session);

    internal bool TryAdd(WebSocketSession session) => _sessions.TryAdd(session.ClientId, session);

    internal void Remove(WebSocketSession session) => _sessions.TryRemove(new(session.ClientId, session));

    public void CountAttempt(string result) => _attempts.Add(1, _serviceTag, new("result", result));

    /// <summary>Counts a socket this process passes on rather than serves, until the returned handle is disposed.</summary>
    public IDisposable TrackProxied()
    {
        Interlocked.Increment(ref _proxied);
        return new ProxiedSocket(this);
    }

    private sealed class ProxiedSocket(ConnectionRegistry registry) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref registry._proxied);
            }
        }
    }

    /// <summary>Closes every socket with 1001 so clients reconnect elsewhere instead of waiting for a timeout.</summary>
    public Task CloseAllAsync(string reason) =>
        Task.WhenAll(_sessions.Values.Select(session => session.CloseAsync(CloseCodes.GoingAway, reason)));
}

public static class ConnectionResults
{
    public const string Accepted = "accepted";
    public const string NotWebSocket = "not-websocket";
    public const string Failed = "failed";

    /// <summary>
    /// Counted by the gateway only: an upgrade answered with a 4xx, mostly its own checks (no or a bad token, a foreign
    /// Origin, over the per-IP rate).
    /// </summary>
    public const string Refused = "refused";

    public static readonly string[] All = [Accepted, NotWebSocket, Failed, Refused];
}
