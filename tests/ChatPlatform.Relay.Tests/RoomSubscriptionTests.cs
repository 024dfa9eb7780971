using ChatPlatform.Contracts;
using ChatPlatform.Relay.Subscriptions;

namespace ChatPlatform.Relay.Tests;

public class RoomSubscriptionTests
{
    private const string Room = "general";
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_000);

    private static RelayOptions Options(int maxResends = 6) => new()
    {
        AckTimeout = TimeSpan.FromSeconds(1),
        MaxResendInterval = TimeSpan.FromSeconds(30),
        MaxResends = maxResends,
    };

    private static DateTimeOffset At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    private static MessageStored Message(long seq) =>
        new(Guid.CreateVersion7(), Room, seq, "alice", $"message {seq}", T0, T0);

    private static (RoomSubscription Subscription, List<MessageStored> Pushed) Subscribe(long afterSeq = 0)
    {
        var pushed = new List<MessageStored>();
        var subscription = new RoomSubscription(Room, afterSeq, message =>
        {
            pushed.Add(message);
            return true;
        });
        return (subscription, pushed);
    }

    /// <summary>A subscription past its (empty) replay: offers are pushed as they become ready.</summary>
    private static (RoomSubscription Subscription, List<MessageStored> Pushed) SubscribeLive(long afterSeq = 0)
    {
        var (subscription, pushed) = Subscribe(afterSeq);
        subscription.GoLive(T0).ShouldBeFalse();
        return (subscription, pushed);
    }

    private static long[] Seqs(IEnumerable<MessageStored> messages) => messages.Select(m => m.Seq).ToArray();

    [Fact]
    public void Messages_offered_in_order_are_pushed_at_once()
    {
        var (subscription, pushed) = SubscribeLive();

        subscription.Offer(Message(1), T0).ShouldBeFalse();
        subscription.Offer(Message(2), T0).ShouldBeFalse();

        Seqs(pushed).ShouldBe([1L, 2L]);
        subscription.LastPushed.ShouldBe(2);
    }

    [Fact]
    public void Messages_offered_out_of_order_are_pushed_in_seq_order_once_the_gap_closes()
    {
        var (subscription, pushed) = SubscribeLive();

        subscription.Offer(Message(3), T0);
        subscription.Offer(Message(5), T0);
        subscription.Offer(Message(4), T0);
        pushed.ShouldBeEmpty();

        subscription.Offer(Message(2), T0);
        pushed.ShouldBeEmpty();

        subscription.Offer(Message(1), T0).ShouldBeFalse();
        Seqs(pushed).ShouldBe([1L, 2L, 3L, 4L, 5L]);
        subscription.LastPushed.ShouldBe(5);
        subscription.HasGap.ShouldBeFalse();
        subscription.GapSize.ShouldBe(0);
    }

    [Fact]
    public void A_message_at_or_below_the_last_pushed_seq_is_never_pushed_again()
    {
        var (subscription, pushed) = SubscribeLive();
        var first = Message(1);
        var second = Message(2);
        subscription.Offer(first, T0);
        subscription.Offer(second, T0);

        subscription.Offer(first, T0).ShouldBeFalse();
        subscription.Offer(second, T0).ShouldBeFalse();
        subscription.Offer(Message(1), T0).ShouldBeFalse();

        Seqs(pushed).ShouldBe([1L, 2L]);
        subscription.Held.ShouldBe(2);
    }

    [Fact]
    public void A_message_offered_twice_while_waiting_behind_a_gap_is_pushed_once()
    {
        var (subscription, pushed) = SubscribeLive();
        var third = Message(3);

        subscription.Offer(third, T0);
        subscription.Offer(third, T0);
        subscription.Offer(Message(2), T0);
        subscription.Offer(Message(1), T0);

        Seqs(pushed).ShouldBe([1L, 2L, 3L]);
    }

    [Fact]
    public void A_subscription_resuming_after_a_seq_pushes_nothing_at_or_before_it()
    {
        var (subscription, pushed) = SubscribeLive(afterSeq: 10);

        subscription.Offer(Message(9), T0).ShouldBeFalse();
        subscription.Offer(Message(10), T0).ShouldBeFalse();
        subscription.Offer(Message(11), T0).ShouldBeFalse();

        Seqs(pushed).ShouldBe([11L]);
        subscription.Held.ShouldBe(1);
    }

    [Fact]
    public void Live_offers_during_the_replay_are_held_until_GoLive()
    {
        var (subscription, pushed) = Subscribe(afterSeq: 0);

        subscription.Offer(Message(1), T0).ShouldBeFalse();
        subscription.Offer(Message(2), T0).ShouldBeFalse();

        pushed.ShouldBeEmpty();
        subscription.LastPushed.ShouldBe(0);
        subscription.HasGap.ShouldBeFalse();
        subscription.Held.ShouldBe(2);
    }

    [Fact]
    public void A_replay_page_returns_only_seqs_after_afterSeq_in_order()
    {
        var (subscription, pushed) = Subscribe(afterSeq: 2);

        var page = subscription.TakeReplayPage([Message(4), Message(1), Message(3), Message(2), Message(5)], T0);

        Seqs(page).ShouldBe([3L, 4L, 5L]);
        subscription.LastPushed.ShouldBe(5);
        // The caller pushes a replay page itself; the subscription only tracks it for acks.
        pushed.ShouldBeEmpty();
        subscription.Held.ShouldBe(3);
    }

    [Fact]
    public void A_replay_page_skips_what_an_earlier_page_already_returned()
    {
        var (subscription, _) = Subscribe(afterSeq: 0);

        Seqs(subscription.TakeReplayPage([Message(1), Message(2), Message(3)], T0)).ShouldBe([1L, 2L, 3L]);
        Seqs(subscription.TakeReplayPage([Message(2), Message(3), Message(4), Message(5)], T0)).ShouldBe([4L, 5L]);
        subscription.TakeReplayPage([Message(1), Message(5)], T0).ShouldBeEmpty();

        subscription.LastPushed.ShouldBe(5);
    }

    [Fact]
    public void GoLive_pushes_the_held_live_messages_that_follow_the_replay_without_repeats()
    {
        var (subscription, pushed) = Subscribe(afterSeq: 0);
        // Live messages arrive while history is read: some of them are also in the history pages.
        subscription.Offer(Message(3), T0);
        subscription.Offer(Message(4), T0);
        subscription.Offer(Message(5), T0);

        var page = subscription.TakeReplayPage([Message(1), Message(2), Message(3)], T0);
        Seqs(page).ShouldBe([1L, 2L, 3L]);
        pushed.ShouldBeEmpty();

        subscription.GoLive(T0).ShouldBeFalse();

        Seqs(pushed).ShouldBe([4L, 5L]);
        subscription.LastPushed.ShouldBe(5);
        subscription.Held.ShouldBe(5);
        subscription.Offer(Message(4), T0).ShouldBeFalse();
        Seqs(pushed).ShouldBe([4L, 5L]);
    }

    [Fact]
    public void GoLive_drops_held_live_messages_the_replay_already_covered()
    {
        var (subscription, pushed) = Subscribe(afterSeq: 0);
        subscription.Offer(Message(2), T0);
        subscription.Offer(Message(3), T0);

        subscription.TakeReplayPage([Message(1), Message(2), Message(3), Message(4)], T0);
        subscription.GoLive(T0).ShouldBeFalse();

        pushed.ShouldBeEmpty();
        subscription.HasGap.ShouldBeFalse();
        subscription.Held.ShouldBe(4);
    }

    [Fact]
    public void GoLive_reports_a_gap_when_a_held_message_does_not_follow_the_replay()
    {
        var (subscription, pushed) = Subscribe(afterSeq: 0);
        subscription.Offer(Message(6), T0);
        subscription.Offer(Message(7), T0);
        subscription.TakeReplayPage([Message(1), Message(2), Message(3)], T0);

        subscription.GoLive(T0).ShouldBeTrue();

        pushed.ShouldBeEmpty();
        subscription.HasGap.ShouldBeTrue();
        subscription.GapSize.ShouldBe(2);

        subscription.Offer(Message(4), T0).ShouldBeTrue();
        subscription.GapSize.ShouldBe(1);
        subscription.Offer(Message(5), T0).ShouldBeFalse();
        Seqs(pushed).ShouldBe([4L, 5L, 6L, 7L]);
        subscription.HasGap.ShouldBeFalse();
    }

    [Fact]
    public void Offer_returns_true_while_a_seq_is_missing_and_the_gap_size_counts_the_missing_seqs()
    {
        var (subscription, pushed) = SubscribeLive();
        subscription.Offer(Message(1), T0);

        subscription.Offer(Message(5), T0).ShouldBeTrue();
        subscription.HasGap.ShouldBeTrue();
        subscription.GapSize.ShouldBe(3);

        subscription.Offer(Message(3), T0).ShouldBeTrue();
        subscription.GapSize.ShouldBe(1);

        subscription.Offer(Message(2), T0).ShouldBeTrue();
        subscription.HasGap.ShouldBeTrue();
        subscription.GapSize.ShouldBe(1);
        Seqs(pushed).ShouldBe([1L, 2L, 3L]);

        subscription.Offer(Message(4), T0).ShouldBeFalse();
        subscription.HasGap.ShouldBeFalse();
        subscription.GapSize.ShouldBe(0);
        Seqs(pushed).ShouldBe([1L, 2L, 3L, 4L, 5L]);
    }

    [Fact]
    public void Acknowledge_settles_every_pending_push_up_to_the_seq_and_returns_them()
    {
        var (subscription, _) = SubscribeLive();
        var messages = Enumerable.Range(1, 5).Select(seq => Message(seq)).ToArray();
        foreach (var message in messages)
        {
            subscription.Offer(message, T0);
        }

        var settled = subscription.Acknowledge(3);

        settled.Select(p => p.Message).ShouldBe(messages[..3]);
        subscription.Held.ShouldBe(2);
        subscription.Acknowledge(3).ShouldBeEmpty();
        subscription.Acknowledge(2).ShouldBeEmpty();
        subscription.Acknowledge(10).Select(p => p.Message.Seq).ShouldBe([4L, 5L]);
        subscription.Held.ShouldBe(0);
    }

    [Fact]
    public void Acknowledging_a_seq_not_pushed_yet_leaves_waiting_messages_alone()
    {
        var (subscription, pushed) = SubscribeLive();
        subscription.Offer(Message(1), T0);
        subscription.Offer(Message(3), T0);

        subscription.Acknowledge(3).Select(p => p.Message.Seq).ShouldBe([1L]);

        subscription.Held.ShouldBe(1);
        subscription.Offer(Message(2), T0).ShouldBeFalse();
        Seqs(pushed).ShouldBe([1L, 2L, 3L]);
    }

    [Fact]
    public void An_acknowledged_push_is_never_resent()
    {
        var (subscription, pushed) = SubscribeLive();
        subscription.Offer(Message(1), T0);
        subscription.Acknowledge(1);

        subscription.ResendDue(At(100), Options()).ShouldBe((0, false));

        pushed.Count.ShouldBe(1);
    }

    [Fact]
    public void An_unacknowledged_push_is_resent_only_once_the_ack_timeout_passed()
    {
        var (subscription, pushed) = SubscribeLive();
        var message = Message(1);
        subscription.Offer(message, T0);
        pushed.Clear();

        subscription.ResendDue(At(0.999), Options()).ShouldBe((0, false));
        pushed.ShouldBeEmpty();

        subscription.ResendDue(At(1), Options()).ShouldBe((1, false));
        pushed.ShouldBe([message]);
    }

    [Fact]
    public void Resends_back_off_doubling_up_to_the_max_interval()
    {
        var (subscription, pushed) = SubscribeLive();
        subscription.Offer(Message(1), T0);
        pushed.Clear();
        var options = Options(maxResends: 100);

        // Due after 1 s, then 2, 4, 8, 16, then capped at 30 s: at 1, 3, 7, 15, 31, 61, 91, 121 s.
        double[] resendAt = [1, 3, 7, 15, 31, 61, 91, 121];
        var previous = 0.0;
        foreach (var due in resendAt)
        {
            var justBefore = (previous + due) / 2;
            subscription.ResendDue(At(justBefore), options).ShouldBe((0, false), $"before {due} s (at {justBefore} s)");
            subscription.ResendDue(At(due), options).ShouldBe((1, false), $"at {due} s");
            previous = due;
        }

        pushed.Count.ShouldBe(resendAt.Length);
    }

    [Fact]
    public void Each_pending_push_backs_off_on_its_own_schedule()
    {
        var (subscription, pushed) = SubscribeLive();
        var first = Message(1);
        var second = Message(2);
        subscription.Offer(first, T0);
        subscription.Offer(second, At(2));
        pushed.Clear();

        subscription.ResendDue(At(1), Options()).ShouldBe((1, false));
        pushed.ShouldBe([first]);

        subscription.ResendDue(At(3), Options()).ShouldBe((2, false));
        pushed.ShouldBe([first, first, second]);
    }

    [Fact]
    public void Giving_up_is_reported_once_MaxResends_resends_went_unacknowledged()
    {
        var (subscription, pushed) = SubscribeLive();
        subscription.Offer(Message(1), T0);
        pushed.Clear();
        var options = Options(maxResends: 3);

        subscription.ResendDue(At(1), options).ShouldBe((1, false));
        subscription.ResendDue(At(3), options).ShouldBe((1, false));
        subscription.ResendDue(At(7), options).ShouldBe((1, false));
        // The third resend is due for an ack until 7 + 8 s; only then has it gone unacknowledged.
        subscription.ResendDue(At(14), options).ShouldBe((0, false));
        subscription.ResendDue(At(15), options).ShouldBe((0, true));

        pushed.Count.ShouldBe(3);
    }

    [Fact]
    public void An_ack_after_the_last_resend_prevents_giving_up()
    {
        var (subscription, _) = SubscribeLive();
        subscription.Offer(Message(1), T0);
        var options = Options(maxResends: 1);
        subscription.ResendDue(At(1), options).ShouldBe((1, false));

        subscription.Acknowledge(1);

        subscription.ResendDue(At(1000), options).ShouldBe((0, false));
    }

    [Fact]
    public void Replayed_messages_are_resent_like_live_ones_when_unacknowledged()
    {
        var (subscription, pushed) = Subscribe(afterSeq: 0);
        var page = subscription.TakeReplayPage([Message(1), Message(2)], T0);
        subscription.GoLive(T0);

        subscription.ResendDue(At(1), Options()).ShouldBe((2, false));

        pushed.ShouldBe(page);
    }

    [Fact]
    public void Undelivered_lists_the_ids_pushed_longer_ago_than_the_threshold_and_not_acknowledged()
    {
        var (subscription, _) = SubscribeLive();
        var old = Message(1);
        var acknowledged = Message(2);
        var recent = Message(3);
        subscription.Offer(old, T0);
        subscription.Offer(acknowledged, T0);
        subscription.Offer(recent, At(25));
        subscription.Acknowledge(0);
        subscription.ResendDue(At(26), Options()); // resends do not reset how long a message has been undelivered

        subscription.Undelivered(At(31), TimeSpan.FromSeconds(30)).ShouldBe([old.Id, acknowledged.Id]);
        subscription.Acknowledge(2);
        subscription.Undelivered(At(31), TimeSpan.FromSeconds(30)).ShouldBeEmpty();
        subscription.Undelivered(At(56), TimeSpan.FromSeconds(30)).ShouldBe([recent.Id]);
    }

    [Fact]
    public void Undelivered_does_not_list_messages_waiting_behind_a_gap()
    {
        var (subscription, _) = SubscribeLive();
        subscription.Offer(Message(2), T0);

        subscription.Undelivered(At(100), TimeSpan.FromSeconds(30)).ShouldBeEmpty();
    }

    [Fact]
    public void Held_counts_the_waiting_messages_and_the_unacknowledged_pushes()
    {
        var (subscription, _) = SubscribeLive();
        subscription.Held.ShouldBe(0);

        subscription.Offer(Message(1), T0);
        subscription.Offer(Message(2), T0);
        subscription.Offer(Message(4), T0);
        subscription.Offer(Message(5), T0);
        subscription.Held.ShouldBe(4);

        subscription.Acknowledge(1);
        subscription.Held.ShouldBe(3);

        subscription.Offer(Message(3), T0);
        subscription.Held.ShouldBe(4);

        subscription.Acknowledge(5);
        subscription.Held.ShouldBe(0);
    }

    [Fact]
    public void A_refused_push_stays_pending_and_is_resent()
    {
        var attempts = new List<MessageStored>();
        var accept = false;
        var subscription = new RoomSubscription(Room, 0, message =>
        {
            attempts.Add(message);
            return accept;
        });
        subscription.GoLive(T0);
        var message = Message(1);

        subscription.Offer(message, T0).ShouldBeFalse();
        subscription.LastPushed.ShouldBe(1);
        subscription.Held.ShouldBe(1);

        accept = true;
        subscription.ResendDue(At(1), Options()).ShouldBe((1, false));
        attempts.ShouldBe([message, message]);
    }

    [Fact]
    public void Only_one_gap_fill_runs_at_a_time()
    {
        var (subscription, _) = SubscribeLive();

        subscription.TryBeginFill().ShouldBeTrue();
        subscription.TryBeginFill().ShouldBeFalse();
        subscription.EndFill();
        subscription.TryBeginFill().ShouldBeTrue();
    }

    [Fact]
    public void A_catch_up_asked_for_while_a_fill_runs_is_handed_to_that_fill_when_it_ends_and_only_once()
    {
        var (subscription, _) = SubscribeLive();

        subscription.TryBeginFill().ShouldBeTrue();
        subscription.TryBeginFill(catchUp: true).ShouldBeFalse();

        subscription.EndFill().ShouldBeTrue("the fill that ends runs the catch-up");
        subscription.TryBeginFill(catchUp: true).ShouldBeTrue();
        subscription.EndFill().ShouldBeFalse("nothing was asked for during the catch-up itself");
    }
}

/// <summary>A replay page as the relay takes it: in seq order, one message at a time.</summary>
file static class ReplayPages
{
    public static IReadOnlyList<MessageStored> TakeReplayPage(this RoomSubscription subscription, IEnumerable<MessageStored> page, DateTimeOffset now) =>
        page.OrderBy(message => message.Seq).Where(message => subscription.TakeReplayed(message, now)).ToList();
}
