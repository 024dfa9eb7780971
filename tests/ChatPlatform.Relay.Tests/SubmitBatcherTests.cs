using ChatPlatform.Contracts;
using ChatPlatform.Relay.Messages;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Tests;

public sealed class SubmitBatcherTests() : BatcherTests<SubmitBatcher, MessagesSubmitted>(
    bus => new SubmitBatcher(bus, Options.Create(new RelayOptions { SubmitPublishers = Lanes, PublishTimeout = BrokerStandIn.LongWait }), NullLogger<SubmitBatcher>.Instance))
{
    private static readonly TimeSpan LongWait = BrokerStandIn.LongWait;
    private const int Lanes = 4;

    private static MessageSubmitted Message(string roomId) =>
        new(Guid.CreateVersion7(), roomId, "alice", "alice~abc123", "hello", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);

    /// <summary>Two rooms on different lanes.</summary>
    private static (string, string) RoomsOnTwoLanes()
    {
        var rooms = Enumerable.Range(0, 100).Select(index => $"room-{index}").ToList();
        var first = rooms[0];
        return (first, rooms.First(room => SubmitBatcher.LaneOf(room, Lanes) != SubmitBatcher.LaneOf(first, Lanes)));
    }

    private static Task Settle() => Task.Delay(TimeSpan.FromMilliseconds(100), Cancel);

    [Fact]
    public async Task A_rooms_next_batch_is_published_only_after_the_broker_confirmed_the_one_before_in_the_order_they_came()
    {
        var (room, _) = RoomsOnTwoLanes();
        var (first, second, third) = (Message(room), Message(room), Message(room));

        var submittingFirst = Batcher.SubmitAsync(first, Cancel);
        await Broker.WaitForPublishesAsync(1);
        var submittingSecond = Batcher.SubmitAsync(second, Cancel);
        var submittingThird = Batcher.SubmitAsync(third, Cancel);
        await Settle();

        Broker.Published.Count.ShouldBe(1, "the room's lane waits for the first confirm");
        submittingSecond.IsCompleted.ShouldBeFalse();
        Broker.ConfirmNext();
        await submittingFirst.WaitAsync(LongWait, Cancel);
        await Broker.WaitForPublishesAsync(2);
        Broker.Published[1].Messages.Select(message => message.Id).ShouldBe([second.Id, third.Id]);
        Broker.ConfirmNext();
        await Task.WhenAll(submittingSecond, submittingThird).WaitAsync(LongWait, Cancel);
    }

    [Fact]
    public async Task A_room_on_another_lane_is_not_held_up_by_an_unconfirmed_batch()
    {
        var (room, otherRoom) = RoomsOnTwoLanes();

        _ = Batcher.SubmitAsync(Message(room), Cancel);
        await Broker.WaitForPublishesAsync(1);
        _ = Batcher.SubmitAsync(Message(otherRoom), Cancel);

        await Broker.WaitForPublishesAsync(2);
        Broker.Published[1].Messages.ShouldHaveSingleItem().RoomId.ShouldBe(otherRoom);
    }

    [Fact]
    public void Rooms_spread_over_every_lane()
    {
        var lanes = Enumerable.Range(0, 200).Select(index => SubmitBatcher.LaneOf($"room-{index}", Lanes)).Distinct();

        lanes.Order().ShouldBe([0, 1, 2, 3]);
    }
}
