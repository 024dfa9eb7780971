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

    private static (bool Ok, RtcStateRequest Request, ErrorFrame? Error) RtcState(string json)
    {
        ClientFrame.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out _).ShouldBeTrue();
        var ok = SignalValidator.TryReadRtcState(frame, Alice, out var request, out var error);
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

    [Fact]
    public void A_stats_report_is_read_with_its_counts()
    {
        var (ok, request, _) = RtcState("""{"type":"rtc-state","roomId":"general","state":"stats","duplicatesDropped":3,"gaps":1}""");

        ok.ShouldBeTrue();
        request.ShouldBe(new RtcStateRequest(null, "general", "stats", null, null, DuplicatesDropped: 3, Gaps: 1));
        request.IsPeerState.ShouldBeFalse();
    }

    [Fact]
    public void A_stats_report_without_a_peer_is_accepted_and_its_missing_counts_are_zero()
    {
        var (ok, request, _) = RtcState("""{"type":"rtc-state","roomId":"general","state":"stats"}""");

        ok.ShouldBeTrue();
        request.Peer.ShouldBeNull();
        (request.DuplicatesDropped, request.Gaps).ShouldBe((0, 0));
    }

    [Theory]
    [InlineData("\"bob~abc123\"", true)]
    [InlineData("null", true)]
    [InlineData("\"\"", false)]
    [InlineData("42", false)]
    public void A_stats_report_may_name_a_peer_but_only_a_clientId(string peerJson, bool accepted) =>
        RtcState($$"""{"type":"rtc-state","peer":{{peerJson}},"roomId":"general","state":"stats","gaps":1}""").Ok.ShouldBe(accepted);

    [Theory]
    [InlineData("connected")]
    [InlineData("failed")]
    [InlineData("closed")]
    [InlineData("fallback")]
    public void Every_other_state_still_requires_a_peer(string state)
    {
        RtcState($$"""{"type":"rtc-state","peer":"bob~abc123","roomId":"general","state":"{{state}}"}""").Ok.ShouldBeTrue();
        RtcState($$"""{"type":"rtc-state","roomId":"general","state":"{{state}}","duplicatesDropped":1}""").Error!.Code.ShouldBe(ErrorCodes.Invalid);
    }

    [Theory]
    [InlineData("stats")]
    [InlineData("connected")]
    public void Counts_from_0_to_10000_are_read_on_every_state(string state)
    {
        var (ok, request, _) = RtcState($$"""{"type":"rtc-state","peer":"b","roomId":"general","state":"{{state}}","duplicatesDropped":10000,"gaps":0}""");

        ok.ShouldBeTrue();
        (request.DuplicatesDropped, request.Gaps).ShouldBe((10_000, 0));
    }

    [Theory]
    [InlineData("duplicatesDropped", "-1")]
    [InlineData("gaps", "-1")]
    [InlineData("duplicatesDropped", "1.5")]
    [InlineData("gaps", "0.5")]
    [InlineData("duplicatesDropped", "10001")]
    [InlineData("gaps", "10001")]
    [InlineData("gaps", "4294967296")]
    [InlineData("gaps", "\"3\"")]
    [InlineData("duplicatesDropped", "true")]
    [InlineData("duplicatesDropped", "[3]")]
    public void A_count_that_is_negative_not_a_whole_number_or_above_10000_is_invalid(string property, string valueJson)
    {
        foreach (var state in new[] { "stats", "connected" })
        {
            var (ok, _, error) = RtcState($$"""{"type":"rtc-state","peer":"b","roomId":"general","state":"{{state}}","{{property}}":{{valueJson}}}""");

            ok.ShouldBeFalse();
            error.ShouldNotBeNull();
            error.Code.ShouldBe(ErrorCodes.Invalid);
            error.Ref.ShouldBe("rtc-state");
            error.Message.ShouldContain(property);
        }
    }

    [Fact]
    public void A_stats_report_for_a_room_outside_the_token_is_forbidden() =>
        RtcState("""{"type":"rtc-state","roomId":"secret","state":"stats","gaps":1}""").Error!.Code.ShouldBe(ErrorCodes.Forbidden);
}
