using System.Text;
using ChatPlatform.Relay.Messages;
using ChatPlatform.ServiceDefaults.Authentication;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Relay.Tests;

public class SendRequestTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_000);
    private static readonly ChatUser Alice = new("alice", new HashSet<string> { "general" });
    private static readonly RelayOptions Options = new();

    private static (bool Ok, SendRequest Request, ErrorFrame Error) Read(string json)
    {
        ClientFrame.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out _).ShouldBeTrue();
        var ok = SendRequest.TryRead(frame, Alice, Options, Now, out var request, out var error);
        return (ok, request, error);
    }

    private static string Send(string id = "0193d1c2-7a4e-7b1f-9c3d-2e5f6a7b8c9d", string roomId = "general",
        string text = "\"hi\"", string sentAt = "1764000000000") =>
        $$"""{"type":"send","id":"{{id}}","roomId":"{{roomId}}","text":{{text}},"sentAt":{{sentAt}}}""";

    [Fact]
    public void A_well_formed_send_in_a_granted_room_is_read()
    {
        var (ok, request, _) = Read(Send());

        ok.ShouldBeTrue();
        request.Id.ShouldBe(Guid.Parse("0193d1c2-7a4e-7b1f-9c3d-2e5f6a7b8c9d"));
        request.RoomId.ShouldBe("general");
        request.Text.ShouldBe("hi");
        request.SentAt.ShouldBe(Now);
    }

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    public void The_id_must_be_a_real_uuid(string id)
    {
        var (ok, _, error) = Read(Send(id: id));

        ok.ShouldBeFalse();
        error.Code.ShouldBe(ErrorCodes.Invalid);
        error.Message.ShouldContain("id");
    }

    [Fact]
    public void A_room_not_in_the_token_is_forbidden_and_names_the_message()
    {
        var (ok, _, error) = Read(Send(roomId: "secret"));

        ok.ShouldBeFalse();
        error.Code.ShouldBe(ErrorCodes.Forbidden);
        error.Ref.ShouldBe("0193d1c2-7a4e-7b1f-9c3d-2e5f6a7b8c9d");
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("")]
    public void A_malformed_room_id_is_invalid(string roomId) =>
        Read(Send(roomId: roomId)).Error.Code.ShouldBe(ErrorCodes.Invalid);

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("42")]
    [InlineData("null")]
    public void Text_must_be_a_non_empty_string(string text) =>
        Read(Send(text: text)).Error.Code.ShouldBe(ErrorCodes.Invalid);

    [Fact]
    public void Text_of_exactly_the_limit_is_accepted_and_one_more_is_too_large()
    {
        Read(Send(text: $"\"{new string('x', Options.MaxTextLength)}\"")).Ok.ShouldBeTrue();
        Read(Send(text: $"\"{new string('x', Options.MaxTextLength + 1)}\"")).Error.Code.ShouldBe(ErrorCodes.TooLarge);
    }

    [Theory]
    [InlineData("\"1764000000000\"")]
    [InlineData("1.5")]
    [InlineData("0")]
    [InlineData("4000000000000")]
    public void SentAt_must_be_unix_milliseconds_near_the_server_clock(string sentAt) =>
        Read(Send(sentAt: sentAt)).Error.Code.ShouldBe(ErrorCodes.Invalid);
}
