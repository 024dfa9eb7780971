using System.Reflection;
using ChatPlatform.Contracts;
using ChatPlatform.Relay.Messages;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Tests;

public sealed class SubmitBatcherTests : IAsyncLifetime
{
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(30);
    private const int Lanes = 4;

    private readonly SubmitBatcher _batcher;
    private readonly BrokerStandIn _broker;

    public SubmitBatcherTests()
    {
        var bus = DispatchProxy.Create<IBus, BrokerStandIn>();
        _broker = (BrokerStandIn)(object)bus;
        _batcher = new SubmitBatcher(bus, Options.Create(new RelayOptions { SubmitPublishers = Lanes }), NullLogger<SubmitBatcher>.Instance);
    }

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await _batcher.StartAsync(Cancel);

    public async ValueTask DisposeAsync()
    {
        _broker.ConfirmAll();
        await _batcher.StopAsync(CancellationToken.None);
        _batcher.Dispose();
    }

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

        var submittingFirst = _batcher.SubmitAsync(first, Cancel);
        await _broker.WaitForPublishesAsync(1);
        var submittingSecond = _batcher.SubmitAsync(second, Cancel);
        var submittingThird = _batcher.SubmitAsync(third, Cancel);
        await Settle();

        _broker.Published.Count.ShouldBe(1, "the room's lane waits for the first confirm");
        submittingSecond.IsCompleted.ShouldBeFalse();
        _broker.ConfirmNext();
        await submittingFirst.WaitAsync(LongWait, Cancel);
        await _broker.WaitForPublishesAsync(2);
        _broker.Published[1].Messages.Select(message => message.Id).ShouldBe([second.Id, third.Id]);
        _broker.ConfirmNext();
        await Task.WhenAll(submittingSecond, submittingThird).WaitAsync(LongWait, Cancel);
    }

    [Fact]
    public async Task A_room_on_another_lane_is_not_held_up_by_an_unconfirmed_batch()
    {
        var (room, otherRoom) = RoomsOnTwoLanes();

        _ = _batcher.SubmitAsync(Message(room), Cancel);
        await _broker.WaitForPublishesAsync(1);
        _ = _batcher.SubmitAsync(Message(otherRoom), Cancel);

        await _broker.WaitForPublishesAsync(2);
        _broker.Published[1].Messages.ShouldHaveSingleItem().RoomId.ShouldBe(otherRoom);
    }

    [Fact]
    public void Rooms_spread_over_every_lane()
    {
        var lanes = Enumerable.Range(0, 200).Select(index => SubmitBatcher.LaneOf($"room-{index}", Lanes)).Distinct();

        lanes.Order().ShouldBe([0, 1, 2, 3]);
    }

    /// <summary>The broker as the batcher sees it: each publish completes when the test confirms it.</summary>
    public class BrokerStandIn : DispatchProxy
    {
        private readonly Lock _gate = new();
        private readonly List<MessagesSubmitted> _published = [];
        private readonly Queue<TaskCompletionSource> _unconfirmed = new();

        public IReadOnlyList<MessagesSubmitted> Published
        {
            get
            {
                lock (_gate)
                {
                    return _published.ToList();
                }
            }
        }

        public async Task WaitForPublishesAsync(int count)
        {
            var deadline = DateTime.UtcNow + LongWait;
            while (Published.Count < count)
            {
                DateTime.UtcNow.ShouldBeLessThan(deadline, $"{count} publishes expected, {Published.Count} seen");
                await Task.Delay(10);
            }
        }

        public void ConfirmNext()
        {
            lock (_gate)
            {
                _unconfirmed.Dequeue().SetResult();
            }
        }

        public void ConfirmAll()
        {
            lock (_gate)
            {
                while (_unconfirmed.TryDequeue(out var confirm))
                {
                    confirm.SetResult();
                }
            }
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(IPublishEndpoint.Publish) || args?[0] is not MessagesSubmitted batch)
            {
                throw new NotSupportedException($"The batcher is not expected to call {targetMethod?.Name}.");
            }

            var confirmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _published.Add(batch);
                _unconfirmed.Enqueue(confirmed);
            }

            // The batcher's own timeout still applies, so a test that fails before confirming cannot hang the run.
            return confirmed.Task.WaitAsync(args.Length > 1 && args[1] is CancellationToken cancellation ? cancellation : CancellationToken.None);
        }
    }
}
