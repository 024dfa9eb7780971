using ChatPlatform.Contracts;
using ChatPlatform.Signaling.Rooms;

namespace ChatPlatform.Signaling.Tests;

public class RoomDirectoryTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private readonly ManualClock _clock = new();

    private RoomDirectory Directory(string id = "here") => new(id, _clock);

    private static List<object> Drain(RoomDirectory directory)
    {
        var items = new List<object>();
        while (directory.Outgoing.TryRead(out var item))
        {
            items.Add(item);
        }

        return items;
    }

    private static PeerPresenceChanged Remote(string instance, long sequence, string room, string clientId, bool joined) =>
        new(instance, sequence, room, clientId, clientId.Split('~')[0], joined, DateTimeOffset.UnixEpoch);

    [Fact]
    public void A_local_join_returns_the_other_peers_and_queues_one_numbered_event()
    {
        var directory = Directory();
        directory.JoinLocal("general", new Peer("alice~1", "alice"));

        var (added, others) = directory.JoinLocal("general", new Peer("bob~1", "bob"));

        added.ShouldBeTrue();
        others.ShouldBe([new Peer("alice~1", "alice")]);
        Drain(directory).Cast<PeerPresenceChanged>().Select(e => e.Sequence).ShouldBe([1L, 2L]);
    }

    [Fact]
    public async Task A_remote_join_landing_during_a_local_join_is_applied_only_after_the_joiner_was_told_it_joined()
    {
        var directory = Directory();
        Task<PresenceChange?>? remoteJoin = null;
        var appliedWhileTelling = true;

        directory.JoinLocal("general", new Peer("bob~1", "bob"), others =>
        {
            others.ShouldBeEmpty();
            remoteJoin = Task.Run(() => directory.Apply(Remote("there", 1, "general", "alice~2", joined: true)));
            // Holding the lock, the remote join cannot land, however long we give it.
            appliedWhileTelling = remoteJoin.Wait(TimeSpan.FromMilliseconds(200));
        });

        appliedWhileTelling.ShouldBeFalse();
        (await remoteJoin!).ShouldBe(new PresenceChange("general", new Peer("alice~2", "alice"), Joined: true));
        directory.LocalMembers("general").ShouldBe(["bob~1"]);
    }

    [Fact]
    public void Joining_twice_changes_nothing_and_publishes_nothing()
    {
        var directory = Directory();
        directory.JoinLocal("general", new Peer("alice~1", "alice"));
        Drain(directory);

        directory.JoinLocal("general", new Peer("alice~1", "alice")).Added.ShouldBeFalse();
        Drain(directory).ShouldBeEmpty();
    }

    [Fact]
    public void A_disconnect_leaves_every_room_the_client_was_in()
    {
        var directory = Directory();
        directory.JoinLocal("a", new Peer("alice~1", "alice"));
        directory.JoinLocal("b", new Peer("alice~1", "alice"));

        var changes = directory.LeaveAllLocal("alice~1");

        changes.Select(c => c.RoomId).ShouldBe(["a", "b"], ignoreOrder: true);
        directory.IsMember("a", "alice~1").ShouldBeFalse();
        directory.LocalRoomCount("alice~1").ShouldBe(0);
    }

    [Fact]
    public void Remote_members_are_known_with_their_instance()
    {
        var directory = Directory();

        var change = directory.Apply(Remote("there", 1, "general", "carol~1", joined: true));

        change.ShouldBe(new PresenceChange("general", new Peer("carol~1", "carol"), Joined: true));
        directory.InstanceOf("general", "carol~1").ShouldBe("there");
        directory.LocalMembers("general").ShouldBeEmpty();
    }

    [Fact]
    public void Our_own_events_coming_back_from_the_broker_are_ignored()
    {
        var directory = Directory("here");

        directory.Apply(Remote("here", 1, "general", "ghost~1", joined: true)).ShouldBeNull();
        directory.IsMember("general", "ghost~1").ShouldBeFalse();
    }

    [Fact]
    public void A_snapshot_replaces_an_instances_members_and_an_older_event_cannot_undo_it()
    {
        var directory = Directory();
        directory.Apply(Remote("there", 1, "general", "carol~1", joined: true));
        directory.Apply(Remote("there", 2, "general", "dave~1", joined: true));

        var (changes, newcomer) = directory.Apply(new SignalingInstanceAlive("there", 3, [new RoomMember("general", "dave~1", "dave")], DateTimeOffset.UnixEpoch));
        var late = directory.Apply(Remote("there", 3, "general", "carol~1", joined: true));

        newcomer.ShouldBeFalse();
        changes.ShouldBe([new PresenceChange("general", new Peer("carol~1", "carol"), Joined: false)]);
        late.ShouldBeNull();
        directory.IsMember("general", "carol~1").ShouldBeFalse();
        directory.IsMember("general", "dave~1").ShouldBeTrue();
    }

    [Fact]
    public void A_snapshot_older_than_events_already_applied_is_ignored()
    {
        var directory = Directory();
        directory.Apply(Remote("there", 5, "general", "carol~1", joined: true));

        directory.Apply(new SignalingInstanceAlive("there", 4, [], DateTimeOffset.UnixEpoch)).Changes.ShouldBeEmpty();
        directory.IsMember("general", "carol~1").ShouldBeTrue();
    }

    [Fact]
    public void A_silent_instance_expires_with_all_its_members()
    {
        var directory = Directory();
        directory.Apply(new SignalingInstanceAlive("there", 0, [new RoomMember("a", "carol~1", "carol"), new RoomMember("b", "carol~1", "carol")], _clock.Now))
            .Newcomer.ShouldBeTrue();

        _clock.Now += TimeSpan.FromSeconds(10);
        directory.ExpireInstances(TimeSpan.FromSeconds(25)).ShouldBeEmpty();
        _clock.Now += TimeSpan.FromSeconds(20);
        var expired = directory.ExpireInstances(TimeSpan.FromSeconds(25));

        expired.Select(c => c.RoomId).ShouldBe(["a", "b"], ignoreOrder: true);
        expired.ShouldAllBe(c => !c.Joined);
        directory.IsMember("a", "carol~1").ShouldBeFalse();
    }

    [Fact]
    public void The_heartbeat_snapshot_carries_only_local_members_and_the_latest_sequence()
    {
        var directory = Directory("here");
        directory.JoinLocal("general", new Peer("alice~1", "alice"));
        directory.Apply(Remote("there", 1, "general", "carol~1", joined: true));
        Drain(directory);

        directory.PublishSnapshot();

        var snapshot = Drain(directory).ShouldHaveSingleItem().ShouldBeOfType<SignalingInstanceAlive>();
        snapshot.Sequence.ShouldBe(1);
        snapshot.Members.ShouldBe([new RoomMember("general", "alice~1", "alice")]);
    }
}
