using System.Net.Http.Json;
using System.Text.Json;
using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

[Collection(StackCollection.Name)]
public class MessagingTests(ChatStack stack)
{
    private static string NewRoom() => $"room-{Guid.NewGuid():N}"[..20];

    private static object SendFrame(Guid id, string roomId, string text) =>
        new { type = "send", id, roomId, text, sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };

    [Fact]
    public async Task A_message_sent_to_the_relay_is_accepted_then_stored_by_delivery_with_seq_1()
    {
        var room = NewRoom();
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "alice", room);
        await using var relay = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(stack.GatewayUrl, "/ws/relay", token));
        var id = Guid.CreateVersion7();

        await relay.SendAsync(SendFrame(id, room, "hello through the broker"));
        var accepted = await relay.ReceiveAsync("accepted");
        var stored = await WaitForHistoryAsync(token, room, expected: 1);

        accepted.GetProperty("id").GetGuid().ShouldBe(id);
        var message = stored.ShouldHaveSingleItem();
        message.GetProperty("id").GetGuid().ShouldBe(id);
        message.GetProperty("seq").GetInt64().ShouldBe(1);
        message.GetProperty("from").GetString().ShouldBe("alice");
        message.GetProperty("text").GetString().ShouldBe("hello through the broker");
    }

    [Fact]
    public async Task A_bad_frame_gets_an_error_frame_stores_nothing_and_the_connection_carries_on()
    {
        var room = NewRoom();
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "bob", room);
        await using var relay = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(stack.GatewayUrl, "/ws/relay", token));
        var forbiddenId = Guid.CreateVersion7();

        await relay.SendRawAsync("{not json");
        var malformed = await relay.ReceiveAsync("error");
        await relay.SendAsync(SendFrame(forbiddenId, "someone-elses-room", "let me in"));
        var forbidden = await relay.ReceiveAsync("error");
        await relay.SendAsync(new { type = "teleport" });
        var unknown = await relay.ReceiveAsync("error");
        await relay.SendAsync(SendFrame(Guid.CreateVersion7(), room, "still here"));
        await relay.ReceiveAsync("accepted");

        malformed.GetProperty("code").GetString().ShouldBe("invalid");
        forbidden.GetProperty("code").GetString().ShouldBe("forbidden");
        forbidden.GetProperty("ref").GetString().ShouldBe(forbiddenId.ToString());
        unknown.GetProperty("code").GetString().ShouldBe("invalid");
        unknown.GetProperty("ref").GetString().ShouldBe("teleport");
        (await WaitForHistoryAsync(token, room, expected: 1)).ShouldHaveSingleItem()
            .GetProperty("text").GetString().ShouldBe("still here");
    }

    [Fact]
    public async Task A_frame_over_64_KiB_closes_the_socket_with_1009_and_a_binary_frame_with_1003()
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, "carol", "general");
        await using var tooLarge = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(stack.GatewayUrl, "/ws/signaling", token));
        await using var binary = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(stack.GatewayUrl, "/ws/relay", token));

        await tooLarge.SendRawAsync($$"""{"type":"ping","pad":"{{new string('x', 70 * 1024)}}"}""");
        await binary.SendBinaryAsync([1, 2, 3]);

        (await tooLarge.ClosedAsync()).ShouldBe(System.Net.WebSockets.WebSocketCloseStatus.MessageTooBig);
        (await binary.ClosedAsync()).ShouldBe(System.Net.WebSockets.WebSocketCloseStatus.InvalidMessageType);
    }

    private async Task<List<JsonElement>> WaitForHistoryAsync(string token, string room, int expected)
    {
        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        List<JsonElement> messages = [];
        while (DateTime.UtcNow < deadline)
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/api/rooms/{room}/messages?after=0");
            messages = page.GetProperty("messages").EnumerateArray().ToList();
            if (messages.Count >= expected)
            {
                return messages;
            }

            await Task.Delay(100);
        }

        return messages;
    }
}
