using System.Net.WebSockets;
using ChatPlatform.Relay.Subscriptions;
using ChatPlatform.ServiceDefaults.Authentication;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatPlatform.Relay.Tests;

public class SubscriptionRegistryTests
{
    private static WebSocketSession Session(string clientId) =>
        new(WebSocket.CreateFromStream(new MemoryStream(), new WebSocketCreationOptions { IsServer = true }),
            new ChatUser("alice", new HashSet<string> { "*" }), clientId, new ChatWebSocketOptions(), NullLogger.Instance);

    private static Subscriber Subscriber(WebSocketSession session, string roomId) =>
        new(session, new RoomSubscription(roomId, 0, _ => true));

    [Fact]
    public void A_room_leaves_the_registry_when_its_last_subscriber_disconnects()
    {
        var registry = new SubscriptionRegistry();
        var (first, second) = (Session("alice~1"), Session("alice~2"));
        registry.Add(Subscriber(first, "general"));
        registry.Add(Subscriber(second, "general"));
        registry.Add(Subscriber(first, "random"));

        registry.RemoveAll(first);
        registry.RoomCount.ShouldBe(1);
        registry.InRoom("general").Select(subscriber => subscriber.Session).ShouldBe([second]);

        registry.RemoveAll(second);
        registry.RoomCount.ShouldBe(0);
        registry.InRoom("general").ShouldBeEmpty();
    }

    [Fact]
    public void Unsubscribing_a_sessions_last_room_leaves_nothing_behind()
    {
        var registry = new SubscriptionRegistry();
        var session = Session("alice~1");
        registry.Add(Subscriber(session, "general"));

        registry.Remove(session, "general").ShouldBeTrue();

        registry.RoomCount.ShouldBe(0);
        registry.CountFor(session).ShouldBe(0);
        registry.All.ShouldBeEmpty();
    }

    [Fact]
    public void Removing_an_older_subscription_leaves_the_one_that_replaced_it()
    {
        var registry = new SubscriptionRegistry();
        var session = Session("alice~1");
        var older = Subscriber(session, "general");
        registry.Add(older);
        registry.Add(Subscriber(session, "general"));

        registry.Remove(session, "general", older.Subscription).ShouldBeFalse();

        registry.RoomCount.ShouldBe(1);
        registry.CountFor(session).ShouldBe(1);
    }

    [Fact]
    public void Subscribing_again_replaces_the_subscription_in_its_room_and_leaves_the_others()
    {
        var registry = new SubscriptionRegistry();
        var (alice, bob) = (Session("alice~1"), Session("bob~1"));
        var bobInGeneral = Subscriber(bob, "general");
        registry.Add(Subscriber(alice, "general"));
        registry.Add(Subscriber(alice, "random"));
        registry.Add(bobInGeneral);

        var newer = Subscriber(alice, "general");
        registry.Add(newer);

        registry.InRoom("general").ShouldBe([newer, bobInGeneral], ignoreOrder: true);
        registry.Find(alice, "general").ShouldBeSameAs(newer.Subscription);
        registry.Find(alice, "random").ShouldNotBeNull();
        registry.Find(bob, "random").ShouldBeNull();
        registry.CountFor(alice).ShouldBe(2);
        registry.All.Count().ShouldBe(3);
    }

    [Fact]
    public async Task Readers_see_whole_member_sets_while_sessions_join_and_leave()
    {
        var registry = new SubscriptionRegistry();
        var sessions = Enumerable.Range(0, 8).Select(index => Session($"user~{index}")).ToArray();
        using var stop = new CancellationTokenSource();
        var reads = 0;
        // The writers start only once the reader runs: on a busy pool they could otherwise all finish before it starts.
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                // A member set read mid-change is one version or the next: never a session twice, never a hole.
                var members = registry.InRoom("general").Select(subscriber => subscriber.Session.ClientId).ToList();
                members.Distinct().Count().ShouldBe(members.Count);
                members.ShouldAllBe(clientId => clientId != null);
                registry.All.ShouldAllBe(subscriber => subscriber.Subscription != null);
                reads++;
                reading.TrySetResult();
            }
        }, TaskCreationOptions.LongRunning);
        // A reader that failed its first read ends the wait too, and its assertion is what the test reports.
        await await Task.WhenAny(reading.Task, reader).WaitAsync(TimeSpan.FromSeconds(30));

        await Task.WhenAll(sessions.Select(session => Task.Run(() =>
        {
            for (var round = 0; round < 500; round++)
            {
                registry.Add(Subscriber(session, "general"));
                registry.Add(Subscriber(session, "random"));
                registry.Remove(session, "random").ShouldBeTrue();
                if (round % 2 == 0)
                {
                    registry.RemoveAll(session);
                }
            }
        })));
        await stop.CancelAsync();
        await reader;

        reads.ShouldBeGreaterThan(0);
        registry.InRoom("general").Select(subscriber => subscriber.Session).ShouldBe(sessions, ignoreOrder: true);
        registry.InRoom("random").ShouldBeEmpty();
        registry.RoomCount.ShouldBe(1);
        sessions.ShouldAllBe(session => registry.CountFor(session) == 1);
    }

    [Fact]
    public void A_replay_replaced_by_a_newer_subscribe_does_not_answer_it()
    {
        var registry = new SubscriptionRegistry();
        var session = Session("alice~1");
        var older = Subscriber(session, "general");
        registry.Add(older);
        var newer = Subscriber(session, "general");
        registry.Add(newer);
        var answered = new List<Subscriber>();

        registry.WhileCurrent(older, () => answered.Add(older)).ShouldBeFalse();
        registry.WhileCurrent(newer, () => answered.Add(newer)).ShouldBeTrue();

        answered.ShouldBe([newer]);
    }

    [Fact]
    public void A_replay_whose_room_was_unsubscribed_does_not_answer()
    {
        var registry = new SubscriptionRegistry();
        var session = Session("alice~1");
        var subscriber = Subscriber(session, "general");
        registry.Add(subscriber);
        registry.Remove(session, "general");

        registry.WhileCurrent(subscriber, () => throw new InvalidOperationException("answered")).ShouldBeFalse();
    }

    [Fact]
    public async Task A_newer_subscribe_waits_until_the_current_replay_has_answered()
    {
        var registry = new SubscriptionRegistry();
        var session = Session("alice~1");
        var older = Subscriber(session, "general");
        registry.Add(older);
        using var answering = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();

        var replay = Task.Run(() => registry.WhileCurrent(older, () =>
        {
            answering.Set();
            release.Wait(TimeSpan.FromSeconds(10));
        }));
        answering.Wait(TimeSpan.FromSeconds(10)).ShouldBeTrue();
        var newer = Subscriber(session, "general");
        var subscribe = Task.Run(() => registry.Add(newer));

        // The newer subscribe cannot take the room while the older replay is still answering.
        (await Task.WhenAny(subscribe, Task.Delay(200))).ShouldNotBe(subscribe);
        registry.Find(session, "general").ShouldBe(older.Subscription);

        release.Set();
        (await replay).ShouldBeTrue();
        await subscribe;
        registry.Find(session, "general").ShouldBe(newer.Subscription);
    }
}
