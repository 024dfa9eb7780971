using System.Text;
using System.Text.Json;
using ChatPlatform.ServiceDefaults.Authentication;
using ChatPlatform.ServiceDefaults.WebSockets;
using ChatPlatform.Signaling.Connections;

namespace ChatPlatform.Signaling.Tests;

public class SignalValidatorTests
{
    private const string Sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n";
    private static readonly ChatUser Alice = new("alice", new HashSet<string> { "general" });
    private static readonly SignalingOptions Options = new();

    private static ClientFrame Frame(object value)
    {
        ClientFrame.TryParse(JsonSerializer.SerializeToUtf8Bytes(value), out var frame, out _).ShouldBeTrue();
        return frame;
    }

    private static (bool Ok, SignalRequest Request, ErrorFrame? Error) Signal(object value)
    {
        var ok = SignalValidator.TryReadSignal(Frame(value), Alice, Options, out var request, out var error);
        return (ok, request, error);
    }

    [Fact]
    public void An_offer_to_a_peer_in_a_granted_room_is_read()
    {
        var (ok, request, _) = Signal(new { type = "offer", to = "bob~abc123", roomId = "general", sdp = Sdp });

        ok.ShouldBeTrue();
        request.ShouldBe(new SignalRequest("offer", "bob~abc123", "general", Sdp, null));
    }

    [Fact]
    public void A_room_outside_the_token_is_forbidden() =>
        Signal(new { type = "offer", to = "bob~abc123", roomId = "secret", sdp = Sdp }).Error!.Code.ShouldBe(ErrorCodes.Forbidden);

    [Theory]
    [InlineData("")]
    [InlineData("not an sdp")]
    public void An_sdp_that_is_not_a_session_description_is_invalid(string sdp) =>
        Signal(new { type = "answer", to = "bob~abc123", roomId = "general", sdp }).Error!.Code.ShouldBe(ErrorCodes.Invalid);

    [Fact]
    public void An_sdp_of_exactly_16_KiB_passes_and_one_byte_more_does_not()
    {
        var exact = Sdp + new string('a', Options.MaxSdpBytes - Encoding.UTF8.GetByteCount(Sdp));

        Signal(new { type = "offer", to = "b", roomId = "general", sdp = exact }).Ok.ShouldBeTrue();
        Signal(new { type = "offer", to = "b", roomId = "general", sdp = exact + "a" }).Error!.Code.ShouldBe(ErrorCodes.Invalid);
    }

    [Fact]
    public void A_missing_target_is_invalid() =>
        Signal(new { type = "offer", roomId = "general", sdp = Sdp }).Error!.Code.ShouldBe(ErrorCodes.Invalid);

    [Fact]
    public void An_ice_candidate_is_read_into_its_fields_only()
    {
        var (ok, request, _) = Signal(new
        {
            type = "ice", to = "b", roomId = "general",
            candidate = new { candidate = "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid = "0", sdpMLineIndex = 0, extra = "<dropped>" },
        });

        ok.ShouldBeTrue();
        request.Candidate.ShouldBe(new IceCandidate("candidate:1 1 udp 1 127.0.0.1 5000 typ host", "0", 0, null));
    }

    [Fact]
    public void An_empty_candidate_marks_the_end_of_candidates() =>
        Signal(new { type = "ice", to = "b", roomId = "general", candidate = new { candidate = "", sdpMid = "0" } }).Ok.ShouldBeTrue();

    [Theory]
    [InlineData("{\"candidate\":\"not-a-candidate\",\"sdpMid\":\"0\"}")]
    [InlineData("{\"candidate\":\"candidate:1\"}")]
    [InlineData("\"candidate:1\"")]
    [InlineData("null")]
    public void A_malformed_candidate_is_invalid(string candidateJson)
    {
        var json = $$"""{"type":"ice","to":"b","roomId":"general","candidate":{{candidateJson}}}""";
        ClientFrame.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out _).ShouldBeTrue();

        SignalValidator.TryReadSignal(frame, Alice, Options, out _, out var error).ShouldBeFalse();
        error!.Code.ShouldBe(ErrorCodes.Invalid);
    }

    [Fact]
    public void A_candidate_over_1_KiB_is_invalid() =>
        Signal(new { type = "ice", to = "b", roomId = "general", candidate = new { candidate = "candidate:" + new string('1', 1024), sdpMid = "0" } })
            .Error!.Code.ShouldBe(ErrorCodes.Invalid);

    [Fact]
    public void Rtc_state_reports_are_bounded()
    {
        SignalValidator.TryReadRtcState(Frame(new { type = "rtc-state", peer = "b", roomId = "general", state = "connected", handshakeMs = 120.5 }), Alice, out var ok, out _)
            .ShouldBeTrue();
        ok.HandshakeMilliseconds.ShouldBe(120.5);
        SignalValidator.TryReadRtcState(Frame(new { type = "rtc-state", peer = "b", roomId = "general", state = "melted" }), Alice, out _, out _).ShouldBeFalse();
        SignalValidator.TryReadRtcState(Frame(new { type = "rtc-state", peer = "b", roomId = "general", state = "connected", handshakeMs = -1 }), Alice, out _, out _).ShouldBeFalse();
        SignalValidator.TryReadRtcState(Frame(new { type = "rtc-state", peer = "b", roomId = "general", state = "fallback", reason = new string('r', 65) }), Alice, out _, out _).ShouldBeFalse();
    }
}
