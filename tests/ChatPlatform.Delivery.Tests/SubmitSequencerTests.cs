using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Messages;
using ChatPlatform.Delivery.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Delivery.Tests;

public sealed class SubmitSequencerTests : IAsyncLifetime
{
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(30);

    private readonly List<IReadOnlyList<Guid>> _statements = [];
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _lastSeq = [];
    private TaskCompletionSource? _holdNextStatement;
    private Guid? _poison;
    private SubmitSequencer _sequencer = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => StartAsync(LongWait);

    public async ValueTask DisposeAsync()
    {
        await _sequencer.StopAsync(CancellationToken.None);
        _sequencer.Dispose();
    }

    private async ValueTask StartAsync(TimeSpan orderWait)
    {
        _sequencer = new SubmitSequencer(
            StoreAsync, Options.Create(new DeliveryOptions { StoreOrderWait = orderWait }), TimeProvider.System, NullLogger<SubmitSequencer>.Instance);
        await _sequencer.StartAsync(Cancel);
    }

    /// <summary>Stands in for the one statement: numbers each room's messages in the order it is given them.</summary>
    private async Task<IReadOnlyList<StoreResult>> StoreAsync(IReadOnlyList<MessageSubmitted> messages, CancellationToken cancellationToken)
    {
        var hold = Interlocked.Exchange(ref _holdNextStatement, null);
        if (hold is not null)
        {
            await hold.Task.WaitAsync(cancellationToken);
        }

        lock (_gate)
        {
            if (_poison is { } poison && messages.Any(message => message.Id == poison))
            {
                throw new InvalidOperationException("The statement failed.");
            }

            _statements.Add(messages.Select(message => message.Id).ToList());
            return messages.Select(message => new StoreResult(StoreOutcome.Stored, new StoredMessage
            {
                Id = message.Id,
                RoomId = message.RoomId,
                Seq = _lastSeq[message.RoomId] = _lastSeq.GetValueOrDefault(message.RoomId) + 1,
                Sender = message.From,
                ClientId = message.ClientId,
                Text = message.Text,
            })).ToList();
        }
    }

    private static MessageSubmitted[] Batch(int count = 1) =>
        Enumerable.Range(0, count)
            .Select(_ => new MessageSubmitted(Guid.CreateVersion7(), "room-1", "alice", "alice~abc123", "hello", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow))
            .ToArray();

    private Task<IReadOnlyList<StoreResult>> Submit(ulong delivery, MessageSubmitted[] batch, string consumer = "consumer-1") =>
        _sequencer.StoreAsync(new QueuePosition(consumer, delivery), batch, Cancel);

    private List<Guid> StoredInOrder()
    {
        lock (_gate)
        {
            return _statements.SelectMany(statement => statement).ToList();
        }
    }

    /// <summary>
    /// Submits <paramref name="first"/> as delivery 1 and, while its statement is held open, the two others: they
    /// wait together for the next statement. Then lets the statements run.
    /// </summary>
    private async Task<(Task<IReadOnlyList<StoreResult>>, Task<IReadOnlyList<StoreResult>>, Task<IReadOnlyList<StoreResult>>)> WhileTheFirstIsStoredAsync(
        MessageSubmitted[] first, (ulong Delivery, MessageSubmitted[] Batch) one, (ulong Delivery, MessageSubmitted[] Batch) other)
    {
        var hold = new TaskCompletionSource();
        _holdNextStatement = hold;
        var storingFirst = Submit(1, first);
        await Settle();
        var storingOne = Submit(one.Delivery, one.Batch);
        var storingOther = Submit(other.Delivery, other.Batch);
        await Settle();
        hold.SetResult();
        return (storingFirst, storingOne, storingOther);
    }

    /// <summary>Lets the sequencer's loop run up to the point where it would store (or wait).</summary>
    private static Task Settle() => Task.Delay(TimeSpan.FromMilliseconds(100), Cancel);

    [Fact]
    public async Task Batches_that_arrive_out_of_queue_order_are_stored_in_queue_order()
    {
        var (first, second, third) = (Batch(), Batch(), Batch());
        await Submit(1, first);

        var storingThird = Submit(3, third);
        await Settle();
        storingThird.IsCompleted.ShouldBeFalse("the third delivery must wait for the second");
        await Submit(2, second);
        await storingThird;

        StoredInOrder().ShouldBe([first[0].Id, second[0].Id, third[0].Id]);
    }

    [Fact]
    public async Task A_consumers_second_delivery_waits_for_its_first_even_when_it_arrives_first()
    {
        var (first, second) = (Batch(), Batch());

        var storingSecond = Submit(2, second);
        await Settle();
        storingSecond.IsCompleted.ShouldBeFalse("the broker numbers a consumer's deliveries from 1");
        await Submit(1, first);
        await storingSecond;

        StoredInOrder().ShouldBe([first[0].Id, second[0].Id]);
    }

    [Fact]
    public async Task Batches_waiting_together_go_into_one_statement_in_queue_order_and_each_gets_its_own_results()
    {
        var (first, second, third) = (Batch(), Batch(2), Batch(3));

        var (storingFirst, storingThird, storingSecond) = await WhileTheFirstIsStoredAsync(first, (3, third), (2, second));

        (await storingFirst).Select(result => result.Message.Id).ShouldBe(first.Select(message => message.Id));
        (await storingSecond).Select(result => result.Message.Id).ShouldBe(second.Select(message => message.Id));
        (await storingThird).Select(result => result.Message.Id).ShouldBe(third.Select(message => message.Id));
        _statements.Count.ShouldBe(2);
        _statements[1].ShouldBe(second.Concat(third).Select(message => message.Id));
        (await storingThird).Select(result => result.Message.Seq).ShouldBe([4L, 5L, 6L]);
    }

    [Fact]
    public async Task A_delivery_that_never_comes_holds_the_later_ones_only_for_the_order_wait()
    {
        await DisposeAsync();
        await StartAsync(TimeSpan.FromMilliseconds(200));
        await Submit(1, Batch());

        var later = Batch();
        var results = await Submit(3, later).WaitAsync(LongWait, Cancel);

        results.Single().Message.Id.ShouldBe(later[0].Id);
    }

    [Fact]
    public async Task One_failing_batch_does_not_fail_the_batches_stored_with_it()
    {
        var (first, poisoned, healthy) = (Batch(), Batch(), Batch());
        _poison = poisoned[0].Id;

        var (storingFirst, storingPoisoned, storingHealthy) = await WhileTheFirstIsStoredAsync(first, (2, poisoned), (3, healthy));

        await storingFirst;
        await Should.ThrowAsync<InvalidOperationException>(storingPoisoned);
        (await storingHealthy).Single().Message.Id.ShouldBe(healthy[0].Id);
        StoredInOrder().ShouldBe([first[0].Id, healthy[0].Id]);
    }

    [Fact]
    public async Task A_retried_batch_is_stored_at_once_without_waiting_for_the_ones_after_it()
    {
        var (first, second) = (Batch(), Batch());
        _poison = first[0].Id;
        await Should.ThrowAsync<InvalidOperationException>(Submit(1, first));
        await Submit(2, second);

        _poison = null;
        await Submit(1, first).WaitAsync(LongWait, Cancel);

        StoredInOrder().ShouldBe([second[0].Id, first[0].Id]);
    }

    [Fact]
    public async Task A_new_consumer_numbers_its_deliveries_from_one_without_waiting_for_the_old_numbering()
    {
        await Submit(1, Batch());
        await Submit(2, Batch());

        var afterReconnect = Batch();
        var results = await Submit(1, afterReconnect, consumer: "consumer-2").WaitAsync(LongWait, Cancel);

        results.Single().Message.Id.ShouldBe(afterReconnect[0].Id);
    }

    [Fact]
    public async Task A_batch_without_a_queue_position_is_stored_as_it_comes()
    {
        await Submit(1, Batch());
        var storingThird = Submit(3, Batch());

        var unordered = Batch();
        var results = await _sequencer.StoreAsync(null, unordered, Cancel).WaitAsync(LongWait, Cancel);

        results.Single().Message.Id.ShouldBe(unordered[0].Id);
        storingThird.IsCompleted.ShouldBeFalse();
    }
}
