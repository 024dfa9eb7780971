using System.Net;
using System.Text.Json;
using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

/// <summary>The relay protocol through the gateway, against two Relay and two Delivery instances.</summary>
[Collection(StackCollection.Name)]
public class RelayTests(ChatStack stack)
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(60);

    internal static string NewRoom() => $"room-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task Three_clients_exchange_500_messages_in_two_rooms_and_each_member_gets_each_once_in_seq_order()
    {
        string[] rooms = [NewRoom(), NewRoom()];
        // Connected one after another, the gateway's least-requests balancing spreads them over both relays.
        var clients = new List<RelayClient>();
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            var client = await RelayClient.ConnectAsync(stack.GatewayUrl, user, rooms);
            clients.Add(client);
            foreach (var room in rooms)
            {
                await client.SubscribeAsync(room);
            }
        }

        try
        {
            var sent = Enumerable.Range(0, 500)
                .Select(i => (Id: Guid.CreateVersion7(), Sender: clients[i % 3], Room: rooms[i % 2], Text: $"message {i}"))
                .ToList();
            await Task.WhenAll(clients.Select(async sender =>
            {
                foreach (var message in sent.Where(m => m.Sender == sender))
                {
                    await sender.SendUntilAcceptedAsync(message.Id, message.Room, message.Text, DeliveryTimeout);
                }
            }));

            foreach (var client in clients)
            {
                foreach (var room in rooms)
                {
                    (await client.WaitForDistinctMessagesAsync(room, 250, DeliveryTimeout)).ShouldBeTrue($"{client.User} in {room}");
                    var received = client.DistinctMessagesIn(room);
                    received.Select(m => m.Seq).ShouldBe(Enumerable.Range(1, 250).Select(i => (long)i), $"{client.User} in {room}: seq order");
                    received.Select(m => m.Id).ToHashSet().SetEquals(sent.Where(m => m.Room == room).Select(m => m.Id))
                        .ShouldBeTrue($"{client.User} in {room}: exactly the messages sent there");
                    // A copy after the first can only be a resend of an unacknowledged push: same id, same seq.
                    client.MessagesIn(room).GroupBy(m => m.Id).ShouldAllBe(copies => copies.Select(m => m.Seq).Distinct().Count() == 1);
                }
            }

            var senderOf = sent.ToDictionary(m => m.Id, m => m.Sender.User);
            clients[0].DistinctMessagesIn(rooms[0]).ShouldAllBe(m => senderOf[m.Id] == m.From);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Each_senders_messages_keep_the_order_it_sent_them_in_even_when_sent_all_at_once()
    {
        var room = NewRoom();
        // Joined one after another, so the gateway spreads them over both relays.
        var senders = new List<RelayClient>();
        foreach (var user in new[] { "alice", "bob", "carol" })
        {
            senders.Add(await RelayClient.JoinAsync(stack.GatewayUrl, user, room));
        }

        try
        {
            // Within a connection's burst of frames, so none of them is rate-limited.
            const int perSender = 30;
            var sent = senders.ToDictionary(
                sender => sender.User, _ => Enumerable.Range(0, perSender).Select(_ => Guid.CreateVersion7()).ToList());
            await Task.WhenAll(senders.Select(async sender =>
            {
                foreach (var (id, index) in sent[sender.User].Select((id, index) => (id, index)))
                {
                    await sender.SendMessageAsync(id, room, $"{sender.User} {index}");
                }
            }));

            (await senders[0].WaitForDistinctMessagesAsync(room, 3 * perSender, DeliveryTimeout)).ShouldBeTrue();
            var stored = senders[0].DistinctMessagesIn(room);
            stored.Select(m => m.Seq).ShouldBe(Enumerable.Range(1, 3 * perSender).Select(i => (long)i));
            foreach (var sender in senders)
            {
                stored.Where(m => m.From == sender.User).Select(m => m.Id).ShouldBe(sent[sender.User], $"{sender.User}'s messages by seq");
            }
        }
        finally
        {
            foreach (var sender in senders)
            {
                await sender.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Sending_the_same_id_three_times_stores_one_row_and_pushes_it_once_to_each_member()
    {
        var room = NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);
        var duplicatesBefore = await stack.SumMetricAsync("chat_messages_duplicate_total", stack.Delivery, stack.Delivery2);
        var id = Guid.CreateVersion7();

        for (var i = 0; i < 3; i++)
        {
            await alice.SendUntilAcceptedAsync(id, room, "said three times", DeliveryTimeout);
            (await RelayClient.WaitUntilAsync(() => alice.FramesOfType("accepted").Count(f => f.GetProperty("id").GetGuid() == id) > i, DeliveryTimeout)).ShouldBeTrue();
        }

        var sentinel = Guid.CreateVersion7();
        await alice.SendUntilAcceptedAsync(sentinel, room, "after the copies", DeliveryTimeout);
        (await bob.WaitForDistinctMessagesAsync(room, 2, DeliveryTimeout)).ShouldBeTrue();
        (await RelayClient.WaitUntilAsync(
            async () => await stack.SumMetricAsync("chat_messages_duplicate_total", stack.Delivery, stack.Delivery2) >= duplicatesBefore + 2,
            DeliveryTimeout)).ShouldBeTrue("Delivery counts both copies as duplicates");

        (await stack.HistoryAsync(room)).Select(m => m.GetProperty("id").GetGuid()).ShouldBe([id, sentinel]);
        foreach (var member in new[] { alice, bob })
        {
            member.MessagesIn(room).Where(m => m.Id == id).ShouldHaveSingleItem().Seq.ShouldBe(1);
            member.MessagesIn(room).Where(m => m.Id == sentinel).ShouldHaveSingleItem().Seq.ShouldBe(2);
        }
    }

    [Fact]
    public async Task A_client_back_from_offline_gets_exactly_what_it_missed_then_live_messages()
    {
        var room = NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);
        for (var i = 1; i <= 5; i++)
        {
            await alice.SendUntilAcceptedAsync(Guid.CreateVersion7(), room, $"before {i}", DeliveryTimeout);
        }

        (await bob.WaitForDistinctMessagesAsync(room, 5, DeliveryTimeout)).ShouldBeTrue();
        var resumeAfter = bob.LastContiguousSeq(room);
        await bob.DisposeAsync();

        var missed = new List<Guid>();
        for (var i = 1; i <= 7; i++)
        {
            var id = Guid.CreateVersion7();
            missed.Add(id);
            await alice.SendUntilAcceptedAsync(id, room, $"while bob was away {i}", DeliveryTimeout);
        }

        (await alice.WaitForDistinctMessagesAsync(room, 12, DeliveryTimeout)).ShouldBeTrue();
        await using var bobAgain = await RelayClient.ConnectAsync(stack.GatewayUrl, "bob", [room]);
        var lastSeq = await bobAgain.SubscribeAsync(room, afterSeq: resumeAfter);
        var live = Guid.CreateVersion7();
        await alice.SendUntilAcceptedAsync(live, room, "live again", DeliveryTimeout);
        (await bobAgain.WaitForDistinctMessagesAsync(room, 8, DeliveryTimeout)).ShouldBeTrue();

        resumeAfter.ShouldBe(5);
        lastSeq.ShouldBe(12);
        bobAgain.MessagesIn(room).Select(m => m.Seq).ShouldBe(Enumerable.Range(6, 8).Select(i => (long)i));
        bobAgain.MessagesIn(room).Take(7).Select(m => m.Id).ShouldBe(missed);
        bobAgain.MessagesIn(room)[^1].Id.ShouldBe(live);
    }

    [Fact]
    public async Task A_push_that_is_not_acknowledged_is_pushed_again_with_the_same_id_and_seq_until_it_is()
    {
        var room = NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var silent = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room, acknowledge: false);
        var retriesBefore = await stack.SumMetricAsync("chat_delivery_retries_total", stack.Relay, stack.Relay2);
        var id = Guid.CreateVersion7();

        await alice.SendUntilAcceptedAsync(id, room, "are you there?", DeliveryTimeout);
        // Resent after 1 s, then 2 s more: three copies within about 3 s. The next would come 4 s after the third.
        (await RelayClient.WaitUntilAsync(() => silent.MessagesIn(room).Count >= 3, TimeSpan.FromSeconds(20))).ShouldBeTrue();
        var copiesWhenAcknowledged = silent.MessagesIn(room).Count;
        silent.Acknowledge = true;
        // Past the next resend: without the ack's effect a fourth copy would arrive in this wait.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var copies = silent.MessagesIn(room);

        copies.ShouldAllBe(m => m.Id == id && m.Seq == 1);
        copies.Count.ShouldBe(copiesWhenAcknowledged, "once acknowledged, the resends stop");
        alice.MessagesIn(room).ShouldHaveSingleItem("the acknowledging member gets no resend");
        (await stack.SumMetricAsync("chat_delivery_retries_total", stack.Relay, stack.Relay2)).ShouldBeGreaterThanOrEqualTo(retriesBefore + 2);
    }

    [Fact]
    public async Task Acks_and_reads_become_receipts_for_the_room_and_the_message_status()
    {
        var room = NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);
        var id = Guid.CreateVersion7();

        await alice.SendUntilAcceptedAsync(id, room, "did you read this?", DeliveryTimeout);
        (await bob.WaitForDistinctMessagesAsync(room, 1, DeliveryTimeout)).ShouldBeTrue();
        await bob.SendAsync(new { type = "read", roomId = room, seq = 1 });
        var receiptArrived = await RelayClient.WaitUntilAsync(() => alice.FramesOfType("receipt").Any(receipt =>
            receipt.GetProperty("user").GetString() == "bob" && receipt.GetProperty("read").GetInt64() == 1), DeliveryTimeout);

        var aliceToken = await Tokens.IssueAsync(stack.GatewayUrl, "alice", room);
        var status = await stack.GetJsonAsync($"/api/messages/{id}", aliceToken);
        // Tells where a missing receipt was lost: before Delivery stored the cursor, or on its way back to alice.
        receiptArrived.ShouldBeTrue($"alice got no receipt of bob's read; Delivery's status of the message then: {status}");
        status.GetProperty("seq").GetInt64().ShouldBe(1);
        status.GetProperty("deliveredTo").EnumerateArray().Select(user => user.GetString()).ShouldBe(["bob"]);
        status.GetProperty("readBy").EnumerateArray().Select(user => user.GetString()).ShouldBe(["bob"]);
        var outsiderToken = await Tokens.IssueAsync(stack.GatewayUrl, "mallory", "elsewhere");
        (await stack.GetStatusCodeAsync($"/api/messages/{id}", outsiderToken)).ShouldBe(HttpStatusCode.NotFound);
        (await stack.GetStatusCodeAsync($"/api/rooms/{room}/messages", outsiderToken)).ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Every_bad_input_gets_its_documented_error_stores_nothing_and_the_connection_carries_on()
    {
        var room = NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var mallory = await RelayClient.ConnectAsync(stack.GatewayUrl, "mallory", [room]);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var valid = Guid.CreateVersion7();
        var expectations = new (object Frame, string Reference, string Code)[]
        {
            (new { type = "send", id = "not-a-uuid", roomId = room, text = "x", sentAt = now }, "not-a-uuid", "invalid"),
            (new { type = "send", id = Guid.NewGuid(), roomId = "not granted", text = "x", sentAt = now }, "", "invalid"),
            (new { type = "send", id = Guid.NewGuid(), roomId = "other-room", text = "x", sentAt = now }, "", "forbidden"),
            (new { type = "send", id = Guid.NewGuid(), roomId = room, text = "", sentAt = now }, "", "invalid"),
            (new { type = "send", id = Guid.NewGuid(), roomId = room, text = new string('x', 4001), sentAt = now }, "", "too-large"),
            (new { type = "send", id = Guid.NewGuid(), roomId = room, text = "x", sentAt = "yesterday" }, "", "invalid"),
            (new { type = "send", id = Guid.NewGuid(), roomId = room, text = "x", sentAt = now - (48L * 3600 * 1000) }, "", "invalid"),
            (new { type = "subscribe", roomId = "other-room", afterSeq = 0 }, "subscribe", "forbidden"),
            (new { type = "subscribe", roomId = room, afterSeq = -1 }, "subscribe", "invalid"),
            (new { type = "ack", roomId = room, seq = "many" }, "ack", "invalid"),
            (new { type = "read", roomId = "other-room", seq = 1 }, "read", "forbidden"),
            (new { type = "teleport" }, "teleport", "invalid"),
        };

        foreach (var (frame, reference, code) in expectations)
        {
            var errorsBefore = alice.FramesOfType("error").Count;
            await alice.SendAsync(frame);
            (await RelayClient.WaitUntilAsync(() => alice.FramesOfType("error").Count > errorsBefore, TimeSpan.FromSeconds(10)))
                .ShouldBeTrue($"no error for {JsonSerializer.Serialize(frame)}");
            var error = alice.FramesOfType("error")[^1];
            error.GetProperty("code").GetString().ShouldBe(code, JsonSerializer.Serialize(frame));
            var expectedReference = reference.Length > 0 ? reference : JsonSerializer.SerializeToElement(frame).GetProperty("id").ToString();
            error.GetProperty("ref").GetString().ShouldBe(expectedReference, JsonSerializer.Serialize(frame));
        }

        // The same id from another sender: Delivery refuses it and the original stays as it was.
        await alice.SendUntilAcceptedAsync(valid, room, "the original", DeliveryTimeout);
        (await alice.WaitForDistinctMessagesAsync(room, 1, DeliveryTimeout)).ShouldBeTrue();
        await mallory.SendUntilAcceptedAsync(valid, room, "an impostor", DeliveryTimeout);
        (await RelayClient.WaitUntilAsync(() => mallory.ErrorsFor(valid).Any(e => e.GetProperty("code").GetString() == "id-conflict"), DeliveryTimeout))
            .ShouldBeTrue("the impostor is told id-conflict");

        var history = await stack.HistoryAsync(room);
        var stored = history.ShouldHaveSingleItem();
        stored.GetProperty("id").GetGuid().ShouldBe(valid);
        stored.GetProperty("from").GetString().ShouldBe("alice");
        stored.GetProperty("text").GetString().ShouldBe("the original");
        alice.MessagesIn(room).ShouldHaveSingleItem();
    }
}
