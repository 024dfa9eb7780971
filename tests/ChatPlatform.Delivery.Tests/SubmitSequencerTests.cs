using System.Diagnostics;
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
    private readonly object _channel = new();
    private TaskCompletionSource? _holdNextStatement;
    private TaskCompletionSource _statementStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Guid? _poison;
    private int _timeoutsToThrow;
    private SubmitSequencer _sequencer = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => StartAsync(new DeliveryOptions { StoreOrderWait = LongWait });

    public async ValueTask DisposeAsync()
    {
        await _sequencer.StopAsync(CancellationToken.None);
        _sequencer.Dispose();
    }

    private async ValueTask RestartAsync(DeliveryOptions options)
    {
        await DisposeAsync();
        await StartAsync(options);
    }

    private async ValueTask StartAsync(DeliveryOptions options)
    {
        _sequencer = new SubmitSequencer(StoreAsync, Options.Create(options), TimeProvider.System, NullLogger<SubmitSequencer>.Instance);
        await _sequencer.StartAsync(Cancel);
    }

    /// <summary>Stands in for the one statement: numbers each room's messages in the order it is given them.</summary>
    private async Task<IReadOnlyList<StoreResult>> StoreAsync(IReadOnlyList<MessageSubmitted> messages, CancellationToken cancellationToken)
    {
        _statementStarted.TrySetResult();
        var hold = Interlocked.Exchange(ref _holdNextStatement, null);
        if (hold is not null)
        {
            await hold.Task.WaitAsync(cancellationToken);
        }

        lock (_gate)
        {
            if (_timeoutsToThrow > 0)
            {
                _timeoutsToThrow--;
                throw new TimeoutException("PostgreSQL did not answer.");
            }

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

    private Task<StoredBatch> Submit(ulong delivery, MessageSubmitted[] batch, object? channel = null, bool firstAttempt = true) =>
        _sequencer.StoreAsync(new QueuePosition(channel ?? _channel, delivery), batch, firstAttempt, Cancel);

    private List<Guid> StoredInOrder()
    {
        lock (_gate)
        {
            return _statements.SelectMany(statement => statement).ToList();
        }
    }

    /// <summary>
    /// Submits <paramref name="first"/> as delivery 1 and, once its statement has started and is held open, the two
    /// others: they wait together for the next statement. Then lets the statements run.
    /// </summary>
    private async Task<(Task<StoredBatch>, Task<StoredBatch>, Task<StoredBatch>)> WhileTheFirstIsStoredAsync(
        MessageSubmitted[] first, (ulong Delivery, MessageSubmitted[] Batch) one, (ulong Delivery, MessageSubmitted[] Batch) other)
    {
        var hold = new TaskCompletionSource();
        _holdNextStatement = hold;
        _statementStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var storingFirst = Submit(1, first);
        await _statementStarted.Task.WaitAsync(LongWait, Cancel);
        var storingOne = Submit(one.Delivery, one.Batch);
        var storingOther = Submit(other.Delivery, other.Batch);
        await Settle();
        hold.SetResult();
        return (storingFirst, storingOne, storingOther);
    }

    /// <summary>
    /// Lets the sequencer's loop run up to the point where it would store or wait. Only used before asserting that
    /// something is still waiting, which a slower machine cannot turn into a pass: the waits here are 30 s.
    /// </summary>
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
    public async Task A_channels_second_delivery_waits_for_its_first_even_when_it_arrives_first()
    {
        var (first, second) = (Batch(), Batch());

        var storingSecond = Submit(2, second);
        await Settle();
        storingSecond.IsCompleted.ShouldBeFalse("the broker numbers a channel's deliveries from 1");
        await Submit(1, first);
        await storingSecond;

        StoredInOrder().ShouldBe([first[0].Id, second[0].Id]);
    }

    [Fact]
    public async Task Batches_waiting_together_go_into_one_statement_in_queue_order_and_each_gets_its_own_results()
    {
        var (first, second, third) = (Batch(), Batch(2), Batch(3));

        var (storingFirst, storingThird, storingSecond) = await WhileTheFirstIsStoredAsync(first, (3, third), (2, second));

        (await storingFirst).Results.Select(result => result.Message.Id).ShouldBe(first.Select(message => message.Id));
        (await storingSecond).Results.Select(result => result.Message.Id).ShouldBe(second.Select(message => message.Id));
        (await storingThird).Results.Select(result => result.Message.Id).ShouldBe(third.Select(message => message.Id));
        _statements.Count.ShouldBe(2);
        _statements[1].ShouldBe(second.Concat(third).Select(message => message.Id));
        (await storingThird).Results.Select(result => result.Message.Seq).ShouldBe([4L, 5L, 6L]);
    }

    [Fact]
    public async Task A_delivery_that_never_comes_holds_the_later_ones_only_for_the_order_wait()
    {
        await RestartAsync(new DeliveryOptions { StoreOrderWait = TimeSpan.FromSeconds(2) });
        await Submit(1, Batch());

        var later = Batch();
        // The sequencer times the wait with the same monotonic clock, so the lower bound below is exact: a slow
        // machine can only make it longer.
        var sinceSubmitted = Stopwatch.StartNew();
        var stored = await Submit(3, later).WaitAsync(LongWait, Cancel);
        sinceSubmitted.Stop();

        sinceSubmitted.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(2), "it waits for delivery 2 first, for the order wait");
        stored.Results.Single().Message.Id.ShouldBe(later[0].Id);
    }

    [Fact]
    public async Task One_failing_batch_does_not_fail_the_batches_stored_with_it()
    {
        var (first, poisoned, healthy) = (Batch(), Batch(), Batch());
        _poison = poisoned[0].Id;

        var (storingFirst, storingPoisoned, storingHealthy) = await WhileTheFirstIsStoredAsync(first, (2, poisoned), (3, healthy));

        await storingFirst;
        await Should.ThrowAsync<InvalidOperationException>(storingPoisoned);
        (await storingHealthy).Results.Single().Message.Id.ShouldBe(healthy[0].Id);
        StoredInOrder().ShouldBe([first[0].Id, healthy[0].Id]);
        _statements.Count.ShouldBe(2, "the first alone, then the healthy one alone after the pair failed together");
    }

    [Fact]
    public async Task A_statement_that_fails_for_a_passing_reason_is_tried_again_before_anything_behind_it()
    {
        await RestartAsync(new DeliveryOptions { StoreOrderWait = LongWait, RetryMinInterval = TimeSpan.FromMilliseconds(10) });
        var (first, second, third) = (Batch(), Batch(), Batch());
        _timeoutsToThrow = 2;

        var (storingFirst, storingSecond, storingThird) = await WhileTheFirstIsStoredAsync(first, (2, second), (3, third));

        await Task.WhenAll(storingFirst, storingSecond, storingThird).WaitAsync(LongWait, Cancel);
        StoredInOrder().ShouldBe([first[0].Id, second[0].Id, third[0].Id]);
    }

    [Fact]
    public async Task After_its_tries_run_out_a_failed_batch_is_still_stored_before_the_ones_behind_it()
    {
        await RestartAsync(new DeliveryOptions { StoreOrderWait = LongWait, RetryLimit = 0 });
        var (first, second) = (Batch(), Batch());
        _timeoutsToThrow = 1;
        await Should.ThrowAsync<TimeoutException>(Submit(1, first));

        var storingSecond = Submit(2, second);
        await Settle();
        storingSecond.IsCompleted.ShouldBeFalse("the consume call's retry brings the first back");
        await Submit(1, first, firstAttempt: false);
        await storingSecond;

        StoredInOrder().ShouldBe([first[0].Id, second[0].Id]);
    }

    [Fact]
    public async Task A_consume_calls_own_retry_is_not_retried_again_here_so_the_two_schedules_do_not_multiply()
    {
        await RestartAsync(new DeliveryOptions { StoreOrderWait = LongWait, RetryMinInterval = TimeSpan.FromMilliseconds(10) });
        _timeoutsToThrow = 1;

        await Should.ThrowAsync<TimeoutException>(Submit(1, Batch(), firstAttempt: false));
        _timeoutsToThrow.ShouldBe(0);
    }

    [Fact]
    public async Task A_new_channel_numbers_its_deliveries_from_one_and_a_late_call_from_the_old_one_does_not_reset_it()
    {
        await Submit(1, Batch());
        await Submit(2, Batch());
        var reconnected = new object();

        await Submit(1, Batch(), reconnected).WaitAsync(LongWait, Cancel);
        var storingThird = Submit(3, Batch(), reconnected);
        await Submit(3, Batch()).WaitAsync(LongWait, Cancel);
        await Settle();

        storingThird.IsCompleted.ShouldBeFalse("the new channel still waits for its delivery 2");
    }

    [Fact]
    public async Task A_batch_without_a_queue_position_is_stored_as_it_comes()
    {
        await Submit(1, Batch());
        var storingThird = Submit(3, Batch());

        var unordered = Batch();
        var stored = await _sequencer.StoreAsync(null, unordered, firstAttempt: true, Cancel).WaitAsync(LongWait, Cancel);

        stored.Results.Single().Message.Id.ShouldBe(unordered[0].Id);
        storingThird.IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public async Task Once_stopped_it_refuses_new_batches_and_gives_back_the_waiting_ones()
    {
        await Submit(1, Batch());
        var waiting = Submit(3, Batch());

        await _sequencer.StopAsync(Cancel);

        await Should.ThrowAsync<OperationCanceledException>(waiting);
        await Should.ThrowAsync<OperationCanceledException>(Submit(2, Batch()));
    }
}
