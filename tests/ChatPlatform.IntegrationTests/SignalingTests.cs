using System.Net.WebSockets;
using System.Text.Json;
using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

[Collection(StackCollection.Name)]
public class SignalingTests(ChatStack stack)
{
    private const string Sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(700);

    private static string NewRoom() => $"room-{Guid.NewGuid():N}"[..20];

    private sealed record Client(TestSocket Socket, string ClientId) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Socket.DisposeAsync();
    }

    /// <summary>A client connected straight to one Signaling instance, so the test knows which instance it is on.</summary>
    private async Task<Client> ConnectAsync(ServiceProcess instance, string user, params string[] rooms)
    {
        var token = await Tokens.IssueAsync(stack.GatewayUrl, user, rooms);
        return await ConnectAsync(instance.Url, token);
    }

    /// <summary>A client connected through the gateway, which picks the Signaling instance.</summary>
    private Task<Client> ConnectThroughTheGatewayAsync(string token) => ConnectAsync(stack.GatewayUrl, token);

    private static async Task<Client> ConnectAsync(Uri baseUrl, string token)
    {
        var socket = await TestSocket.ConnectAsync(TestSocket.WebSocketUri(baseUrl, "/ws/signaling", token));
        var welcome = await socket.ReceiveAsync("welcome");
        return new Client(socket, welcome.GetProperty("clientId").GetString()!);
    }

    private static async Task<JsonElement> JoinAsync(Client client, string room)
    {
        await client.Socket.SendAsync(new { type = "join", roomId = room });
        return await client.Socket.ReceiveAsync("joined");
    }

    private static List<string> PeerIds(JsonElement joined) =>
        joined.GetProperty("peers").EnumerateArray().Select(peer => peer.GetProperty("clientId").GetString()!).ToList();

    /// <summary>
    /// Presence is eventually consistent across instances: a peer that joined at about the same time on another
    /// instance may be missing from joined.peers, and then arrives as peer-joined. Either way it must arrive.
    /// </summary>
    private static async Task ShouldLearnOfAsync(Client client, JsonElement joined, string peerId)
    {
        if (PeerIds(joined).Contains(peerId))
        {
            return;
        }

        while (true)
        {
            var frame = await client.Socket.ReceiveAsync("peer-joined");
            if (frame.GetProperty("peer").GetProperty("clientId").GetString() == peerId)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Proves that none of the refused frames <paramref name="from"/> sent before reached <paramref name="to"/>: it
    /// sends a valid offer after them, which must be the first negotiation frame <paramref name="to"/> gets. An
    /// instance forwards its clients' frames in one ordered stream and the other instance takes them one at a time,
    /// so a refused frame that had been forwarded all the same would arrive before it, however late.
    /// </summary>
    private static async Task ShouldGetOnlyTheValidOfferAsync(Client from, Client to, string room)
    {
        await from.Socket.SendAsync(new { type = "offer", to = to.ClientId, roomId = room, sdp = Sdp });
        while (true)
        {
            var next = await to.Socket.ReceiveAnyAsync();
            var type = next.GetProperty("type").GetString();
            if (type is "offer" or "answer" or "ice")
            {
                type.ShouldBe("offer", $"unexpected frame {next}");
                next.GetProperty("roomId").GetString().ShouldBe(room, $"unexpected frame {next}");
                next.GetProperty("sdp").GetString().ShouldBe(Sdp, $"unexpected frame {next}");
                next.GetProperty("from").GetString().ShouldBe(from.ClientId);
                return;
            }

            type.ShouldBeOneOf(["peer-joined", "peer-left"], $"unexpected frame {next}");
        }
    }

    [Fact]
    public async Task Peers_on_two_instances_see_each_other_join_leave_and_disconnect()
    {
        var room = NewRoom();
        await using var alice = await ConnectAsync(stack.Signaling, "alice", room);
        var bob = await ConnectAsync(stack.Signaling2, "bob", room);

        PeerIds(await JoinAsync(alice, room)).ShouldBeEmpty();
        await ShouldLearnOfAsync(bob, await JoinAsync(bob, room), alice.ClientId);
        var joined = await alice.Socket.ReceiveAsync("peer-joined");
        await bob.Socket.SendAsync(new { type = "leave", roomId = room });
        var left = await alice.Socket.ReceiveAsync("peer-left");
        PeerIds(await JoinAsync(bob, room)).ShouldBe([alice.ClientId]);
        await alice.Socket.ReceiveAsync("peer-joined");
        await bob.DisposeAsync();
        var disconnected = await alice.Socket.ReceiveAsync("peer-left");

        joined.GetProperty("peer").GetProperty("clientId").GetString().ShouldBe(bob.ClientId);
        joined.GetProperty("peer").GetProperty("user").GetString().ShouldBe("bob");
        left.GetProperty("clientId").GetString().ShouldBe(bob.ClientId);
        disconnected.GetProperty("clientId").GetString().ShouldBe(bob.ClientId);
    }

    [Fact]
    public async Task Offer_answer_and_ice_cross_instances_with_from_set_by_the_server()
    {
        var room = NewRoom();
        await using var alice = await ConnectAsync(stack.Signaling, "alice", room);
        await using var bob = await ConnectAsync(stack.Signaling2, "bob", room);
        await JoinAsync(alice, room);
        await JoinAsync(bob, room);
        await alice.Socket.ReceiveAsync("peer-joined");

        await alice.Socket.SendAsync(new { type = "offer", to = bob.ClientId, roomId = room, sdp = Sdp, from = "spoofed~000000" });
        var offer = await bob.Socket.ReceiveAsync("offer");
        await bob.Socket.SendAsync(new { type = "answer", to = alice.ClientId, roomId = room, sdp = Sdp });
        var answer = await alice.Socket.ReceiveAsync("answer");
        var candidate = new { candidate = "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host", sdpMid = "0", sdpMLineIndex = 0 };
        await alice.Socket.SendAsync(new { type = "ice", to = bob.ClientId, roomId = room, candidate });
        var ice = await bob.Socket.ReceiveAsync("ice");

        offer.GetProperty("from").GetString().ShouldBe(alice.ClientId);
        offer.GetProperty("sdp").GetString().ShouldBe(Sdp);
        offer.GetProperty("roomId").GetString().ShouldBe(room);
        answer.GetProperty("from").GetString().ShouldBe(bob.ClientId);
        ice.GetProperty("from").GetString().ShouldBe(alice.ClientId);
        ice.GetProperty("candidate").GetProperty("candidate").GetString().ShouldBe(candidate.candidate);
        ice.GetProperty("candidate").GetProperty("sdpMLineIndex").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task Two_peers_through_the_gateway_meet_and_negotiate_whichever_instances_they_land_on()
    {
        var room = NewRoom();
        var aliceToken = await Tokens.IssueAsync(stack.GatewayUrl, "alice", room);
        var bobToken = await Tokens.IssueAsync(stack.GatewayUrl, "bob", room);
        await using var alice = await ConnectThroughTheGatewayAsync(aliceToken);
        await using var bob = await ConnectThroughTheGatewayAsync(bobToken);

        await JoinAsync(alice, room);
        var bobJoined = await JoinAsync(bob, room);
        await alice.Socket.ReceiveAsync("peer-joined");
        // Alice seeing bob says nothing of whether bob's instance has heard of alice yet: bob offers, as the web
        // client does, only to a peer he was told of.
        await ShouldLearnOfAsync(bob, bobJoined, alice.ClientId);
        await bob.Socket.SendAsync(new { type = "offer", to = alice.ClientId, roomId = room, sdp = Sdp });

        (await alice.Socket.ReceiveAsync("offer")).GetProperty("from").GetString().ShouldBe(bob.ClientId);
    }

    [Fact]
    public async Task Refused_frames_get_their_error_and_reach_nobody()
    {
        var room = NewRoom();
        var otherRoom = NewRoom();
        await using var alice = await ConnectAsync(stack.Signaling, "alice", room, otherRoom);
        await using var bob = await ConnectAsync(stack.Signaling2, "bob", room, otherRoom);
        await using var carol = await ConnectAsync(stack.Signaling2, "carol", otherRoom);
        await JoinAsync(alice, room);
        await JoinAsync(alice, otherRoom);
        await JoinAsync(bob, room);
        await JoinAsync(carol, otherRoom);
        await alice.Socket.ReceiveAsync("peer-joined");
        await alice.Socket.ReceiveAsync("peer-joined");

        async Task<string> RefusedAsync(object frame)
        {
            await alice.Socket.SendAsync(frame);
            return (await alice.Socket.ReceiveAsync("error")).GetProperty("code").GetString()!;
        }

        // carol is in otherRoom but not in room: an offer "in room" must not reach her.
        (await RefusedAsync(new { type = "offer", to = carol.ClientId, roomId = room, sdp = Sdp })).ShouldBe("unknown-peer");
        (await RefusedAsync(new { type = "offer", to = "nobody~000000", roomId = room, sdp = Sdp })).ShouldBe("unknown-peer");
        (await RefusedAsync(new { type = "offer", to = bob.ClientId, roomId = "not-granted", sdp = Sdp })).ShouldBe("forbidden");
        (await RefusedAsync(new { type = "join", roomId = "not-granted" })).ShouldBe("forbidden");
        (await RefusedAsync(new { type = "offer", to = bob.ClientId, roomId = room, sdp = "v=0\r\n" + new string('a', 17 * 1024) })).ShouldBe("invalid");
        (await RefusedAsync(new { type = "offer", to = bob.ClientId, roomId = room, sdp = "<script>" })).ShouldBe("invalid");
        (await RefusedAsync(new { type = "ice", to = bob.ClientId, roomId = room, candidate = new { candidate = "candidate:" + new string('1', 1100), sdpMid = "0" } })).ShouldBe("invalid");
        (await RefusedAsync(new { type = "ice", to = bob.ClientId, roomId = room, candidate = "candidate:1" })).ShouldBe("invalid");
        await alice.Socket.SendRawAsync("{\"type\":\"offer\",");
        (await alice.Socket.ReceiveAsync("error")).GetProperty("code").GetString().ShouldBe("invalid");
        (await RefusedAsync(new { type = "teleport" })).ShouldBe("invalid");

        await ShouldGetOnlyTheValidOfferAsync(alice, bob, room);
        await ShouldGetOnlyTheValidOfferAsync(alice, carol, otherRoom);
    }

    [Fact]
    public async Task A_flood_is_rate_limited_then_closed_with_1008_while_everyone_else_carries_on()
    {
        var room = NewRoom();
        await using var flooder = await ConnectAsync(stack.Signaling, "mallory", room);
        await using var bob = await ConnectAsync(stack.Signaling, "bob", room);
        await JoinAsync(flooder, room);
        await JoinAsync(bob, room);
        await Task.Delay(Quiet); // /metrics answers from a 300 ms cache: outwait any earlier scrape
        var rateLimitedBefore = await RateLimitedAsync();

        var sent = 0;
        try
        {
            for (; sent < 400; sent++)
            {
                await flooder.Socket.SendAsync(new { type = "offer", to = bob.ClientId, roomId = room, sdp = Sdp });
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or InvalidOperationException)
        {
            // the server closed the socket mid-flood, which is the point
        }

        (await flooder.Socket.ClosedAsync(TimeSpan.FromSeconds(15))).ShouldBe(WebSocketCloseStatus.PolicyViolation);
        await bob.Socket.SendAsync(new { type = "ping" });
        await bob.Socket.ReceiveAsync("pong");
        (await RelayClient.WaitUntilAsync(async () => await RateLimitedAsync() > rateLimitedBefore, TimeSpan.FromSeconds(10)))
            .ShouldBeTrue("the refused frames are counted as rate-limited");
        var metrics = await new HttpClient().GetStringAsync(new Uri(stack.Signaling.Url, "/metrics"));
        TestContext.Current.SendDiagnosticMessage(
            $"signaling-1 after {sent} flood frames: " + string.Join("; ", metrics.Split('\n').Where(line => line.StartsWith("chat_signaling_", StringComparison.Ordinal))));

        Task<double> RateLimitedAsync() => stack.SumMetricAsync("chat_signaling_rejected_total", "reason=\"rate-limited\"", stack.Signaling);
    }

    [Fact]
    public async Task When_an_instance_dies_its_peers_are_reported_left_to_the_others()
    {
        var room = NewRoom();
        var doomed = stack.StartService("signaling-doomed", "Signaling");
        await doomed.WaitUntilReadyAsync(ChatStack.StartTimeout);
        await using var alice = await ConnectAsync(stack.Signaling, "alice", room);
        await using var carol = await ConnectAsync(doomed, "carol", room);
        await JoinAsync(alice, room);
        await JoinAsync(carol, room);
        (await alice.Socket.ReceiveAsync("peer-joined")).GetProperty("peer").GetProperty("clientId").GetString().ShouldBe(carol.ClientId);

        doomed.Kill();
        var left = await alice.Socket.ReceiveAsync("peer-left", TimeSpan.FromSeconds(20));

        left.GetProperty("clientId").GetString().ShouldBe(carol.ClientId);
    }

    [Fact]
    public async Task When_an_instance_restarts_its_peers_leave_and_come_back_when_they_rejoin()
    {
        var room = NewRoom();
        var restarting = stack.StartService("signaling-restart", "Signaling");
        await restarting.WaitUntilReadyAsync(ChatStack.StartTimeout);
        await using var alice = await ConnectAsync(stack.Signaling, "alice", room);
        var carol = await ConnectAsync(restarting, "carol", room);
        await JoinAsync(alice, room);
        await JoinAsync(carol, room);
        await alice.Socket.ReceiveAsync("peer-joined");

        await restarting.StopAsync(TimeSpan.FromSeconds(20));
        var left = await alice.Socket.ReceiveAsync("peer-left");
        (await carol.Socket.ClosedAsync()).ShouldBe(WebSocketCloseStatus.EndpointUnavailable);
        await carol.DisposeAsync();
        var restarted = stack.StartService("signaling-restart", "Signaling");
        await restarted.WaitUntilReadyAsync(ChatStack.StartTimeout);
        await using var carolAgain = await ConnectAsync(restarted, "carol", room);
        await ShouldLearnOfAsync(carolAgain, await JoinAsync(carolAgain, room), alice.ClientId);
        var back = await alice.Socket.ReceiveAsync("peer-joined");

        left.GetProperty("clientId").GetString().ShouldBe(carol.ClientId);
        restarting.ExitCode.ShouldBe(0);
        back.GetProperty("peer").GetProperty("clientId").GetString().ShouldBe(carolAgain.ClientId);
    }

    [Fact]
    public async Task Rtc_state_reports_are_counted_as_metrics()
    {
        Task<double[]> ReadAsync() => stack.SumMetricsAsync(
            [("chat_rtc_handshake_duration_seconds_count", null), ("chat_rtc_fallbacks_total", "reason=\"timeout\""), ("chat_rtc_state_changes_total", "state=\"connected\"")],
            stack.Signaling2);
        var room = NewRoom();
        await using var alice = await ConnectAsync(stack.Signaling2, "alice", room);
        await JoinAsync(alice, room);
        await Task.Delay(Quiet); // /metrics answers from a 300 ms cache: outwait any earlier scrape
        var before = await ReadAsync();

        await alice.Socket.SendAsync(new { type = "rtc-state", peer = "bob~123456", roomId = room, state = "connected", handshakeMs = 180 });
        await alice.Socket.SendAsync(new { type = "rtc-state", peer = "bob~123456", roomId = room, state = "fallback", reason = "timeout" });
        await alice.Socket.SendAsync(new { type = "rtc-state", peer = "bob~123456", roomId = room, state = "exploded" });
        var error = await alice.Socket.ReceiveAsync("error");
        var after = before;
        await RelayClient.WaitUntilAsync(async () => (after = await ReadAsync()).SequenceEqual(before.Select(count => count + 1)), TimeSpan.FromSeconds(10));

        error.GetProperty("code").GetString().ShouldBe("invalid");
        after.ShouldBe(before.Select(count => count + 1).ToArray(), "one handshake time, one timeout fallback and one connected state, each counted once");
    }

    [Fact]
    public async Task A_stats_report_raises_the_client_counters_by_exactly_its_counts_and_is_no_rtc_state_change()
    {
        Task<double[]> ReadAsync() => stack.SumMetricsAsync(
            [("chat_client_duplicates_dropped_total", null), ("chat_client_gaps_total", null), ("chat_rtc_state_changes_total", null), ("chat_signaling_messages_total", null)],
            stack.Signaling);
        var room = NewRoom();
        await using var alice = await ConnectAsync(stack.Signaling, "alice", room);
        await JoinAsync(alice, room);
        await alice.Socket.SendAsync(new { type = "ping" });
        await alice.Socket.ReceiveAsync("pong"); // the join is counted too (the joined frame goes out just before)
        await Task.Delay(Quiet); // /metrics answers from a 300 ms cache: outwait any earlier scrape
        var before = await ReadAsync();

        await alice.Socket.SendAsync(new { type = "rtc-state", roomId = room, state = "stats", duplicatesDropped = 5, gaps = -1 });
        var error = await alice.Socket.ReceiveAnyAsync();
        await alice.Socket.SendAsync(new { type = "rtc-state", roomId = room, state = "stats", duplicatesDropped = 3, gaps = 2 });
        await alice.Socket.SendAsync(new { type = "ping" });
        var pong = await alice.Socket.ReceiveAnyAsync(); // a session's frames are handled in order: the report is counted
        var after = before;
        var risen = await RelayClient.WaitUntilAsync(async () => (after = await ReadAsync())[1] > before[1], TimeSpan.FromSeconds(10));
        await Task.Delay(Quiet); // leave no cached scrape behind: the next test may read signaling-1's /metrics at once

        error.GetProperty("type").GetString().ShouldBe("error");
        error.GetProperty("code").GetString().ShouldBe("invalid");
        error.GetProperty("ref").GetString().ShouldBe("rtc-state");
        pong.GetProperty("type").GetString().ShouldBe("pong", "the valid stats report is answered by nothing, not an error");
        risen.ShouldBeTrue("the gaps counter rises (the scrape may be cached briefly)");
        (after[0] - before[0]).ShouldBe(3, "chat_client_duplicates_dropped_total");
        (after[1] - before[1]).ShouldBe(2, "chat_client_gaps_total");
        (after[2] - before[2]).ShouldBe(0, "chat_rtc_state_changes_total: stats is not a state change");
        (after[3] - before[3]).ShouldBe(1, "chat_signaling_messages_total: the one accepted rtc-state frame");
    }
}
