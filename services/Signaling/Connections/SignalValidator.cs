using System.Text;
using System.Text.Json;
using ChatPlatform.ServiceDefaults.Authentication;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Signaling.Connections;

/// <summary>An offer, answer or ICE frame that passed every field check.</summary>
public sealed record SignalRequest(string Kind, string To, string RoomId, string? Sdp, IceCandidate? Candidate);

/// <summary>
/// An rtc-state frame that passed every field check. <see cref="Peer"/> is null only for a <c>stats</c> report, which
/// is the client's telemetry for the room, not a peer's state; the counts are increments since the client's last report.
/// </summary>
public sealed record RtcStateRequest(string? Peer, string RoomId, string State, double? HandshakeMilliseconds, string? Reason,
    int DuplicatesDropped, int Gaps)
{
    public bool IsPeerState => State != SignalValidator.StatsState;
}

/// <summary>
/// The checks on each client frame, field by field, before anything changes or is forwarded. Pure: no state,
/// so every rule is unit-tested. A failed check yields the error frame to send back.
/// </summary>
public static class SignalValidator
{
    public const int MaxClientIdLength = 100;
    public const int MaxReasonLength = 64;
    public const double MaxHandshakeMilliseconds = 600_000;
    public const int MaxClientCount = 10_000;
    public const string StatsState = "stats";

    private static readonly HashSet<string> RtcStates = ["connected", "failed", "closed", "fallback", StatsState];

    public static bool TryReadRoom(ClientFrame frame, ChatUser user, out string roomId, out ErrorFrame? error)
    {
        roomId = frame.GetString("roomId") ?? "";
        error = !RoomIds.IsValid(roomId) ? Invalid(frame, $"\"roomId\" must be {RoomIds.Rule}.")
            : !user.CanUse(roomId) ? new ErrorFrame(ErrorCodes.Forbidden, $"The token does not grant room \"{roomId}\".", frame.Type)
            : null;
        return error is null;
    }

    public static bool TryReadSignal(ClientFrame frame, ChatUser user, SignalingOptions options, out SignalRequest request, out ErrorFrame? error)
    {
        request = null!;
        if (!TryReadRoom(frame, user, out var roomId, out error))
        {
            return false;
        }

        var to = frame.GetString("to");
        if (string.IsNullOrEmpty(to) || to.Length > MaxClientIdLength)
        {
            error = Invalid(frame, "\"to\" must be the clientId of a peer in the room.");
            return false;
        }

        if (frame.Type == "ice")
        {
            if (!TryReadCandidate(frame, options, out var candidate, out var problem))
            {
                error = Invalid(frame, problem);
                return false;
            }

            request = new SignalRequest(frame.Type, to, roomId, null, candidate);
            return true;
        }

        var sdp = frame.GetString("sdp");
        if (sdp is null || !sdp.StartsWith("v=0", StringComparison.Ordinal))
        {
            error = Invalid(frame, "\"sdp\" must be a session description string (starting v=0).");
            return false;
        }

        if (Encoding.UTF8.GetByteCount(sdp) > options.MaxSdpBytes)
        {
            error = Invalid(frame, $"\"sdp\" is larger than {options.MaxSdpBytes} bytes.");
            return false;
        }

        request = new SignalRequest(frame.Type, to, roomId, sdp, null);
        return true;
    }

    public static bool TryReadRtcState(ClientFrame frame, ChatUser user, out RtcStateRequest request, out ErrorFrame? error)
    {
        request = null!;
        if (!TryReadRoom(frame, user, out var roomId, out error))
        {
            return false;
        }

        var state = frame.GetString("state");
        if (state is null || !RtcStates.Contains(state))
        {
            error = Invalid(frame, "\"state\" must be connected, failed, closed, fallback or stats.");
            return false;
        }

        // A stats report is client-wide: its peer may be left out, but one that is sent must be a clientId.
        var peer = frame.GetString("peer");
        if ((state != StatsState || TryGetValue(frame, "peer", out _)) && (string.IsNullOrEmpty(peer) || peer.Length > MaxClientIdLength))
        {
            error = Invalid(frame, "\"peer\" must be a clientId.");
            return false;
        }

        if (!TryReadCount(frame, "duplicatesDropped", out var duplicatesDropped, out error)
            || !TryReadCount(frame, "gaps", out var gaps, out error))
        {
            return false;
        }

        double? handshake = null;
        if (TryGetValue(frame, "handshakeMs", out var value))
        {
            if (value.ValueKind != JsonValueKind.Number || value.GetDouble() is < 0 or > MaxHandshakeMilliseconds)
            {
                error = Invalid(frame, $"\"handshakeMs\" must be a number from 0 to {MaxHandshakeMilliseconds}.");
                return false;
            }

            handshake = value.GetDouble();
        }

        var reason = frame.GetString("reason");
        if (reason is { Length: > MaxReasonLength })
        {
            error = Invalid(frame, $"\"reason\" is longer than {MaxReasonLength} characters.");
            return false;
        }

        request = new RtcStateRequest(peer, roomId, state, handshake, reason, duplicatesDropped, gaps);
        return true;
    }

    /// <summary>An optional client-reported count: absent or null is 0, else a whole number from 0 to <see cref="MaxClientCount"/>.</summary>
    private static bool TryReadCount(ClientFrame frame, string property, out int count, out ErrorFrame? error)
    {
        count = 0;
        error = null;
        if (!TryGetValue(frame, property, out var value))
        {
            return true;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out count) || count is < 0 or > MaxClientCount)
        {
            count = 0;
            error = Invalid(frame, $"\"{property}\" must be a whole number from 0 to {MaxClientCount}.");
            return false;
        }

        return true;
    }

    private static bool TryReadCandidate(ClientFrame frame, SignalingOptions options, out IceCandidate candidate, out string problem)
    {
        candidate = null!;
        problem = "\"candidate\" must be an RTCIceCandidateInit object.";
        if (!frame.Root.TryGetProperty("candidate", out var element) || element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var line = String(element, "candidate");
        var sdpMid = String(element, "sdpMid");
        var usernameFragment = String(element, "usernameFragment");
        int? lineIndex = element.TryGetProperty("sdpMLineIndex", out var index) && index.ValueKind == JsonValueKind.Number
            && index.TryGetInt32(out var number) && number is >= 0 and < 1024 ? number : null;

        if (line is null || (line.Length > 0 && !line.StartsWith("candidate:", StringComparison.Ordinal)))
        {
            problem = "\"candidate.candidate\" must be an ICE candidate line (candidate:…) or empty for the end of candidates.";
            return false;
        }

        if (Encoding.UTF8.GetByteCount(line) > options.MaxCandidateBytes || sdpMid is { Length: > 64 } || usernameFragment is { Length: > 256 })
        {
            problem = $"The candidate is larger than {options.MaxCandidateBytes} bytes.";
            return false;
        }

        if (sdpMid is null && lineIndex is null)
        {
            problem = "A candidate needs sdpMid or sdpMLineIndex.";
            return false;
        }

        candidate = new IceCandidate(line, sdpMid, lineIndex, usernameFragment);
        return true;
    }

    /// <summary>An optional field that is sent: present and not null.</summary>
    private static bool TryGetValue(ClientFrame frame, string property, out JsonElement value) =>
        frame.Root.TryGetProperty(property, out value) && value.ValueKind != JsonValueKind.Null;

    private static string? String(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ErrorFrame Invalid(ClientFrame frame, string message) => new(ErrorCodes.Invalid, message, frame.Type);
}
