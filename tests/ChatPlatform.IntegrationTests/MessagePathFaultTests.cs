using System.Text.Json;
using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

/// <summary>
/// The guarantee under faults: every message that got <c>accepted</c> (and every one the client retried until it
/// was) is stored once and reaches every member once, in seq order, whatever restarts in the middle.
/// </summary>
[Collection(StackCollection.Name)]
public class MessagePathFaultTests(ChatStack stack) : StackFaultTests
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(120);

    protected override ChatStack Stack => stack;

    [Fact]
    public async Task Messages_sent_while_Delivery_is_down_are_all_stored_and_delivered_once_when_it_is_back()
    {
        var room = RelayTests.NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);

        await Task.WhenAll(stack.Delivery.StopAsync(TimeSpan.FromSeconds(20)), stack.Delivery2.StopAsync(TimeSpan.FromSeconds(20)));
        List<Guid> sent;
        try
        {
            // The broker holds them: every one is accepted with no Delivery running.
            sent = await SendAsync(alice, room, 200);
            bob.DistinctMessagesIn(room).ShouldBeEmpty("nothing can be stored while Delivery is down");
        }
        finally
        {
            await Task.WhenAll(stack.RestartAsync(stack.Delivery, "Delivery"), stack.RestartAsync(stack.Delivery2, "Delivery"));
        }

        await AssertStoredAndDeliveredOnceAsync(room, sent, alice, bob);
    }

    [Fact]
    public async Task A_send_right_after_a_subscribe_is_accepted_before_the_replay_answers_even_when_storage_is_away()
    {
        var room = RelayTests.NewRoom();
        await using var alice = await RelayClient.ConnectAsync(stack.GatewayUrl, "alice", [room]);
        var id = Guid.CreateVersion7();
        // With storage away the replay can only end one way: unavailable. A "subscribed" would mean Delivery was up.
        static bool AnswersTheSubscribe(JsonElement frame) => frame.GetProperty("type").GetString() switch
        {
            "subscribed" => true,
            "error" => frame.TryGetProperty("ref", out var reference) && reference.GetString() == "subscribe",
            _ => false,
        };

        await Task.WhenAll(stack.Delivery.StopAsync(TimeSpan.FromSeconds(20)), stack.Delivery2.StopAsync(TimeSpan.FromSeconds(20)));
        try
        {
            // With no Delivery the replay waits until its history request times out; the send behind it on the
            // same connection must not wait with it.
            await alice.SendAsync(new { type = "subscribe", roomId = room, afterSeq = 0 });
            await alice.SendMessageAsync(id, room, "sent while the replay waits for storage");
            (await RelayClient.WaitUntilAsync(() => alice.IsAccepted(id) && alice.Frames().Any(AnswersTheSubscribe), SendTimeout))
                .ShouldBeTrue("the send is accepted and the subscribe answered (unavailable, with storage away)");
        }
        finally
        {
            await Task.WhenAll(stack.RestartAsync(stack.Delivery, "Delivery"), stack.RestartAsync(stack.Delivery2, "Delivery"));
        }

        var frames = alice.Frames().ToList();
        var answeredAt = frames.FindIndex(AnswersTheSubscribe);
        frames[answeredAt].GetProperty("type").GetString().ShouldBe("error", "storage was away, so the replay could not finish");
        frames[answeredAt].GetProperty("code").GetString().ShouldBe("unavailable");
        frames[answeredAt].GetProperty("roomId").GetString().ShouldBe(room, "a client with several rooms knows which one to subscribe again");
        frames.FindIndex(frame => frame.GetProperty("type").GetString() == "accepted" && frame.GetProperty("id").GetGuid() == id)
            .ShouldBeLessThan(answeredAt, "the send was taken while the replay still waited");
        await alice.SubscribeAsync(room);
        (await alice.WaitForDistinctMessagesAsync(room, 1, DeliveryTimeout)).ShouldBeTrue("the message is stored once Delivery is back");
        alice.DistinctMessagesIn(room).ShouldHaveSingleItem().Id.ShouldBe(id);
    }

    [Fact]
    public async Task RabbitMQ_restarting_in_the_middle_of_a_burst_loses_no_accepted_message()
    {
        var room = RelayTests.NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);

        var burst = SendAsync(alice, room, 120);
        (await RelayClient.WaitUntilAsync(() => alice.FramesOfType("accepted").Count >= 30 && bob.DistinctMessagesIn(room).Count >= 1, SendTimeout))
            .ShouldBeTrue("the broker is stopped in the middle of the burst, not before it");
        await stack.Servers.StopBrokerAsync();
        long readWhileAway;
        try
        {
            readWhileAway = bob.LastContiguousSeq(room);
            await bob.SendAsync(new { type = "read", roomId = room, seq = readWhileAway });
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        finally
        {
            await stack.Servers.StartBrokerAsync();
        }

        var sent = await burst;

        await AssertStoredAndDeliveredOnceAsync(room, sent, alice, bob);
        // Its receipt may be published before alice's relay has its queue back: the catch-up then brings it.
        (await RelayClient.WaitUntilAsync(() => alice.FramesOfType("receipt").Any(receipt => receipt.GetProperty("user").GetString() == "bob"
            && receipt.GetProperty("read").GetInt64() >= readWhileAway), DeliveryTimeout)).ShouldBeTrue("a read made while the broker was away reaches the room");
    }

    [Fact]
    public async Task PostgreSQL_restarting_in_the_middle_of_a_burst_loses_no_accepted_message()
    {
        var room = RelayTests.NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);

        var burst = SendAsync(alice, room, 120);
        (await RelayClient.WaitUntilAsync(() => bob.DistinctMessagesIn(room).Count >= 30, SendTimeout))
            .ShouldBeTrue("PostgreSQL is stopped in the middle of the burst, not before it");
        await stack.Servers.StopDatabaseAsync();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
        }
        finally
        {
            await stack.Servers.StartDatabaseAsync();
        }

        var sent = await burst;
        await AssertStoredAndDeliveredOnceAsync(room, sent, alice, bob);
    }

    [Fact]
    public async Task Stopping_Delivery_while_PostgreSQL_is_away_gives_its_messages_back_and_loses_none()
    {
        var room = RelayTests.NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);

        List<Guid> sent;
        await stack.Servers.StopDatabaseAsync();
        try
        {
            // Accepted (the broker holds them) while the storing instance keeps failing to store them.
            sent = await SendAsync(alice, room, 40);
            await Task.Delay(TimeSpan.FromSeconds(2));
            // A graceful stop mid-retry: the stop cancels the stores still retrying (after Messaging__ConsumerStopTimeout;
            // how soon is checked by hand, not here), and a cancelled message must go back to its queue, not to an
            // error queue or an ack, or it would be lost to every member.
            await Task.WhenAll(stack.Delivery.StopAsync(TimeSpan.FromSeconds(30)), stack.Delivery2.StopAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            await stack.Servers.StartDatabaseAsync();
            await Task.WhenAll(stack.RestartAsync(stack.Delivery, "Delivery"), stack.RestartAsync(stack.Delivery2, "Delivery"));
        }

        await AssertStoredAndDeliveredOnceAsync(room, sent, alice, bob);
    }

    [Fact]
    public async Task Clients_of_a_killed_relay_reconnect_to_the_other_and_resume_without_losing_a_message()
    {
        var room = RelayTests.NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);
        var doomed = await ARelayHoldingOneOfTwoClientsAsync();
        using var stop = new CancellationTokenSource();
        var bobStaysConnected = bob.StayConnectedAsync(stop.Token);

        var burst = SendAsync(alice, room, 120);
        (await RelayClient.WaitUntilAsync(() => bob.DistinctMessagesIn(room).Count >= 30, SendTimeout))
            .ShouldBeTrue("the relay is killed in the middle of the burst, not before it");
        doomed.Kill();
        List<Guid> sent;
        try
        {
            sent = await burst;
            await AssertStoredAndDeliveredOnceAsync(room, sent, alice, bob);
        }
        finally
        {
            await stop.CancelAsync();
            await bobStaysConnected;
            await stack.RestartAsync(doomed, "Relay");
        }

        (bob.FramesOfType("welcome").Count + alice.FramesOfType("welcome").Count).ShouldBeGreaterThan(2, "one of them was on the killed relay and reconnected");
    }

    /// <summary>
    /// The gateway spreads sockets over the relays by least requests, but after an earlier test's outage it may still
    /// count one relay as down for a probe interval and send both clients to the other: whichever relay holds them is
    /// the one to kill. Waits until the relays hold exactly the test's two sockets, so a closing one of an earlier
    /// test does not count.
    /// </summary>
    private async Task<ServiceProcess> ARelayHoldingOneOfTwoClientsAsync()
    {
        (await stack.SumMetricWhenAsync("chat_connections", null, total => total == 2, stack.Relay, stack.Relay2))
            .ShouldBe(2, "the relays hold this test's two sockets and no other");
        return await stack.SumMetricAsync("chat_connections", stack.Relay) > 0 ? stack.Relay : stack.Relay2;
    }

    [Fact]
    public async Task When_the_Delivery_that_stores_is_killed_the_standby_stores_the_rest_once_each_and_in_send_order()
    {
        var room = RelayTests.NewRoom();
        await using var alice = await RelayClient.JoinAsync(stack.GatewayUrl, "alice", room);
        await using var bob = await RelayClient.JoinAsync(stack.GatewayUrl, "bob", room);
        var storedBefore = await stack.SumMetricAsync("chat_messages_stored_total", stack.Delivery);

        ServiceProcess? active = null, standby = null;
        var standbyBefore = 0.0;
        // Killed right after a burst is written, so it dies with batches in hand that it has not acknowledged.
        var bursts = SendInBurstsAsync(alice, room, 96, afterWriting: async burst =>
        {
            if (burst != 6)
            {
                return;
            }

            // One instance takes the submitted queue at a time; the other stands by. The first five bursts tell which.
            (await RelayClient.WaitUntilAsync(() => bob.DistinctMessagesIn(room).Count >= 20, SendTimeout)).ShouldBeTrue();
            (active, standby) = await stack.SumMetricAsync("chat_messages_stored_total", stack.Delivery) > storedBefore
                ? (stack.Delivery, stack.Delivery2)
                : (stack.Delivery2, stack.Delivery);
            standbyBefore = await stack.SumMetricAsync("chat_messages_stored_total", standby);
            active.Kill();
        });
        try
        {
            var (sent, resent) = await bursts;
            active.ShouldNotBeNull("the Delivery that stored was killed mid-run");
            resent.ShouldBe(0, "a resend after later messages were accepted takes its place at the resend; the broker was up throughout");
            await AssertStoredAndDeliveredOnceAsync(room, sent, alice, bob);
            bob.DistinctMessagesIn(room).Select(m => m.Id).ShouldBe(sent, "stored in the order alice sent them");
            (await stack.SumMetricAsync("chat_messages_stored_total", standby!)).ShouldBeGreaterThan(standbyBefore, "the standby took over");
            // The gateway still counts the killed instance healthy for a few seconds: it must send these to the other.
            for (var request = 0; request < 10; request++)
            {
                (await stack.HistoryAsync(room)).Count.ShouldBe(sent.Count);
            }
        }
        finally
        {
            if (active is not null)
            {
                await stack.RestartAsync(active, "Delivery");
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="count"/> messages four at a time, each burst without waiting for its confirms, then waits
    /// for them; <paramref name="afterWriting"/> runs after each burst is written (with its number, from 1). Ten
    /// messages a second, well under a connection's frame rate, so none is refused for it. A message refused anyway
    /// is resent until accepted (nothing is lost) and counted.
    /// </summary>
    private static async Task<(List<Guid> Sent, int Resent)> SendInBurstsAsync(
        RelayClient sender, string room, int count, Func<int, Task>? afterWriting = null)
    {
        const int burst = 4;
        var sent = new List<Guid>();
        var resent = 0;
        while (sent.Count < count)
        {
            var ids = Enumerable.Range(0, burst).Select(_ => Guid.CreateVersion7()).ToList();
            foreach (var id in ids)
            {
                await sender.SendMessageAsync(id, room, $"message {sent.Count + ids.IndexOf(id) + 1}");
            }

            if (afterWriting is not null)
            {
                await afterWriting(sent.Count / burst + 1);
            }

            foreach (var id in ids)
            {
                var answered = await RelayClient.WaitUntilAsync(() => sender.IsAccepted(id) || sender.ErrorsFor(id).Count > 0, SendTimeout);
                if (!answered || !sender.IsAccepted(id))
                {
                    resent++;
                    await sender.SendUntilAcceptedAsync(id, room, "resent", SendTimeout);
                }
            }

            sent.AddRange(ids);
            await Task.Delay(TimeSpan.FromMilliseconds(400));
        }

        return (sent, resent);
    }

    /// <summary>Sends <paramref name="count"/> messages one after another, each retried with its id until accepted.</summary>
    private static async Task<List<Guid>> SendAsync(RelayClient sender, string room, int count)
    {
        var sent = new List<Guid>();
        for (var i = 1; i <= count; i++)
        {
            var id = Guid.CreateVersion7();
            await sender.SendUntilAcceptedAsync(id, room, $"message {i}", SendTimeout);
            sent.Add(id);
        }

        return sent;
    }

    private async Task AssertStoredAndDeliveredOnceAsync(string room, List<Guid> sent, params RelayClient[] members)
    {
        foreach (var member in members)
        {
            (await member.WaitForDistinctMessagesAsync(room, sent.Count, DeliveryTimeout))
                .ShouldBeTrue($"{member.User} got {member.DistinctMessagesIn(room).Count} of {sent.Count}");
            var received = member.DistinctMessagesIn(room);
            received.Select(m => m.Seq).ShouldBe(Enumerable.Range(1, sent.Count).Select(i => (long)i), $"{member.User}: seq order, no gap");
            received.Select(m => m.Id).ShouldBe(sent, ignoreOrder: true, $"{member.User}: exactly the messages sent");
            member.MessagesIn(room).GroupBy(m => m.Id).ShouldAllBe(copies => copies.Select(m => m.Seq).Distinct().Count() == 1);
        }

        var history = await stack.HistoryAsync(room);
        history.Select(m => m.GetProperty("seq").GetInt64()).ShouldBe(Enumerable.Range(1, sent.Count).Select(i => (long)i), "stored once each, no gap");
        history.Select(m => m.GetProperty("id").GetGuid()).ShouldBe(sent, ignoreOrder: true);
        TestContext.Current.SendDiagnosticMessage(
            $"{room}: {sent.Count} sent, {history.Count} stored, " +
            string.Join(", ", members.Select(m => $"{m.User} received {m.MessagesIn(room).Count} frames for {m.DistinctMessagesIn(room).Count} messages")));
    }
}
