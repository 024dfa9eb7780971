using System.Text;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.ServiceDefaults.Tests;

public class ClientFrameTests
{
    private static bool Parse(string json, out ClientFrame frame, out ErrorFrame? error) =>
        ClientFrame.TryParse(Encoding.UTF8.GetBytes(json), out frame, out error);

    [Fact]
    public void A_json_object_with_a_type_is_a_frame()
    {
        Parse("""{"type":"send","id":"abc","roomId":"general"}""", out var frame, out var error).ShouldBeTrue();

        error.ShouldBeNull();
        frame.Type.ShouldBe("send");
        frame.GetString("roomId").ShouldBe("general");
        frame.Reference.ShouldBe("abc");
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"type\":")]
    [InlineData("[1,2,3]")]
    [InlineData("\"send\"")]
    [InlineData("{\"id\":\"x\"}")]
    [InlineData("{\"type\":42}")]
    [InlineData("{\"type\":\"\"}")]
    public void Anything_else_is_an_invalid_frame_error(string json)
    {
        Parse(json, out _, out var error).ShouldBeFalse();

        error.ShouldNotBeNull().Code.ShouldBe(ErrorCodes.Invalid);
        error.Type.ShouldBe("error");
    }

    [Fact]
    public void Deeply_nested_json_is_refused_rather_than_parsed()
    {
        var json = "{\"type\":\"send\",\"x\":" + new string('[', 40) + new string(']', 40) + "}";

        Parse(json, out _, out var error).ShouldBeFalse();
        error!.Code.ShouldBe(ErrorCodes.Invalid);
    }

    [Fact]
    public void A_frame_without_an_id_is_referenced_by_its_type()
    {
        Parse("""{"type":"subscribe"}""", out var frame, out _).ShouldBeTrue();

        frame.Reference.ShouldBe("subscribe");
    }

    [Fact]
    public void Server_frames_are_camel_case_with_the_type_first()
    {
        var json = System.Text.Json.JsonSerializer.Serialize<object>(
            new ErrorFrame(ErrorCodes.Forbidden, "no", "ref-1"), ClientFrame.SerializerOptions);

        json.ShouldBe("""{"type":"error","code":"forbidden","message":"no","ref":"ref-1"}""");
    }

    [Fact]
    public void Client_ids_carry_the_user_and_differ_per_connection()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => WebSocketEndpoints.NewClientId("alice")).ToList();

        ids.ShouldAllBe(id => System.Text.RegularExpressions.Regex.IsMatch(id, "^alice~[0-9a-z]{6}$"));
        ids.Distinct().Count().ShouldBe(ids.Count);
    }
}
