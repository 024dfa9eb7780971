using System.Diagnostics.Metrics;

namespace ChatPlatform.Signaling.Telemetry;

/// <summary>The signaling metrics of the brief. Every label has a fixed set of values, all exported from start.</summary>
public sealed class SignalingMetrics
{
    public const string MeterName = "ChatPlatform.Signaling";

    public static readonly string[] FrameTypes = ["join", "leave", "offer", "answer", "ice", "rtc-state"];
    public static readonly string[] RejectReasons = ["invalid", "forbidden", "unknown-peer", "rate-limited", "too-large"];
    public static readonly string[] RtcStates = ["connected", "failed", "closed", "fallback"];
    public static readonly string[] FallbackReasons = ["timeout", "ice-failed", "blocked", "closed", "error", "other"];

    private readonly Counter<long> _messages;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _handshake;
    private readonly Counter<long> _stateChanges;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _clientDuplicatesDropped;
    private readonly Counter<long> _clientGaps;

    public SignalingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _messages = meter.CreateCounter<long>("chat_signaling_messages", description: "Signaling frames accepted, by type.");
        _rejected = meter.CreateCounter<long>("chat_signaling_rejected", description: "Signaling frames refused, by reason (the error code sent).");
        _handshake = meter.CreateHistogram("chat_rtc_handshake_duration", unit: "s",
            description: "Client-reported time from starting a peer connection to its data channel opening.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10] });
        _stateChanges = meter.CreateCounter<long>("chat_rtc_state_changes", description: "Client-reported WebRTC state changes, by state.");
        _fallbacks = meter.CreateCounter<long>("chat_rtc_fallbacks", description: "Peers that fell back to the relay path, by reason.");
        _clientDuplicatesDropped = meter.CreateCounter<long>("chat_client_duplicates_dropped",
            description: "Client-reported messages a client received again and dropped by id.");
        _clientGaps = meter.CreateCounter<long>("chat_client_gaps",
            description: "Client-reported gaps in a room's seq order: a message arrived whose seq was past the next one the client expected.");
        Zero(_messages, "type", FrameTypes);
        Zero(_rejected, "reason", RejectReasons);
        Zero(_stateChanges, "state", RtcStates);
        Zero(_fallbacks, "reason", FallbackReasons);
        _clientDuplicatesDropped.Add(0);
        _clientGaps.Add(0);
    }

    public void Accepted(string type) => _messages.Add(1, new KeyValuePair<string, object?>("type", type));

    public void Rejected(string reason) =>
        _rejected.Add(1, new KeyValuePair<string, object?>("reason", RejectReasons.Contains(reason) ? reason : "invalid"));

    public void RtcState(string state, double? handshakeMilliseconds, string? reason)
    {
        _stateChanges.Add(1, new KeyValuePair<string, object?>("state", state));
        if (state == "connected" && handshakeMilliseconds is { } milliseconds)
        {
            _handshake.Record(milliseconds / 1000);
        }

        if (state == "fallback")
        {
            _fallbacks.Add(1, new KeyValuePair<string, object?>("reason", FallbackReasons.Contains(reason) ? reason : "other"));
        }
    }

    /// <summary>A client's telemetry, carried by any rtc-state frame: its increments since its previous report.</summary>
    public void ClientReported(int duplicatesDropped, int gaps)
    {
        _clientDuplicatesDropped.Add(duplicatesDropped);
        _clientGaps.Add(gaps);
    }

    private static void Zero(Counter<long> counter, string label, string[] values)
    {
        foreach (var value in values)
        {
            counter.Add(0, new KeyValuePair<string, object?>(label, value));
        }
    }
}
