using ChatPlatform.Relay.Messages;

namespace ChatPlatform.Relay.Tests;

public class SubmitBatcherTests
{
    [Fact]
    public void A_room_always_takes_the_same_lane_so_its_messages_are_published_in_the_order_they_came()
    {
        var lanes = Enumerable.Range(0, 50).Select(_ => SubmitBatcher.LaneOf("general", 4)).Distinct();

        lanes.ShouldHaveSingleItem().ShouldBeInRange(0, 3);
    }

    [Fact]
    public void Rooms_spread_over_every_lane()
    {
        var lanes = Enumerable.Range(0, 200).Select(index => SubmitBatcher.LaneOf($"room-{index}", 4)).Distinct();

        lanes.Order().ShouldBe([0, 1, 2, 3]);
    }
}
