using System.Collections.Concurrent;
using ChatPlatform.Contracts;
using ChatPlatform.Delivery.Outbox;
using ChatPlatform.Delivery.Storage;
using ChatPlatform.Delivery.Telemetry;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ChatPlatform.Delivery.Tests;

/// <summary>
/// The dispatcher's delete of published rows, on the real database, with MassTransit's in-memory transport in place of
/// the broker (what is under test is when rows leave the table, not the broker) and a clock the test moves.
/// </summary>
public class OutboxDeleteTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly TimeSpan DeleteInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rows_published_during_the_delete_interval_wait_for_its_end()
    {
        await using var dispatcher = await StartWithTheDeleteLoopWaitingAsync();

        var second = await dispatcher.PublishAsync(3);
        var third = await dispatcher.PublishAsync(4, 5);

        (await RowsAsync([.. second, .. third])).Count.ShouldBe(3, "published, and the interval has not passed");
        await AdvanceUntilDeletedAsync(dispatcher, [.. second, .. third]);
    }

    [Fact]
    public async Task Stopping_deletes_what_was_published_without_waiting_for_the_interval()
    {
        await using var dispatcher = await StartWithTheDeleteLoopWaitingAsync();
        var second = await dispatcher.PublishAsync(3, 4);
        (await RowsAsync(second)).Count.ShouldBe(2, "published, and the interval has not passed");

        await dispatcher.StopAsync();

        (await RowsAsync(second)).ShouldBeEmpty("the clock never moved: the stop ended the wait");
    }

    [Fact]
    public async Task A_delete_interval_over_half_the_claim_delay_is_refused_at_start()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        builder.Configuration["ConnectionStrings:Chat"] = database.ConnectionString;
        builder.Configuration["Delivery:OutboxClaimDelay"] = "00:00:02";
        builder.Configuration["Delivery:OutboxDeleteInterval"] = "00:00:01.001";
        builder.AddDelivery();
        await using var app = builder.Build();

        // What the host runs before it starts (ValidateOnStart), without starting it.
        Should.Throw<OptionsValidationException>(() => app.Services.GetRequiredService<IStartupValidator>().Validate())
            .Message.ShouldContain("Delivery:OutboxDeleteInterval must be at most half of Delivery:OutboxClaimDelay.");
    }

    /// <summary>
    /// A started dispatcher whose first rows (seqs 1 and 2) are published and deleted, and whose delete loop now waits
    /// on the clock for the interval.
    /// </summary>
    private async Task<RunningDispatcher> StartWithTheDeleteLoopWaitingAsync()
    {
        var dispatcher = await StartDispatcherAsync();
        try
        {
            // The first delete runs as soon as its rows are published; then the loop waits on the clock.
            var first = await dispatcher.PublishAsync(1, 2);
            await AdvanceUntilDeletedAsync(dispatcher, first);
            await dispatcher.Clock.DeleteLoopWaiting.WaitAsync(Patience, Cancel);
            return dispatcher;
        }
        catch
        {
            await dispatcher.DisposeAsync();
            throw;
        }
    }

    /// <summary>A dispatcher on the test's database and an in-memory bus, started, with a clock the test moves.</summary>
    private async Task<RunningDispatcher> StartDispatcherAsync()
    {
        var clock = new DeleteLoopClock(DateTimeOffset.UtcNow);
        var published = new ConcurrentQueue<ReceiptUpdated>();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton<TimeProvider>(clock);
        services.AddSingleton(new OutboxSignal(clock: clock));
        services.AddSingleton<DeliveryMetrics>();
        services.AddSingleton(published);
        services.AddSingleton(Options.Create(new DeliveryOptions { OutboxDeleteInterval = DeleteInterval }));
        services.AddDbContext<ChatDbContext>(options => options.UseNpgsql(database.ConnectionString));
        services.AddSingleton<OutboxDispatcher>();
        services.AddMassTransit(bus =>
        {
            bus.AddConsumer<RecordReceipts>();
            bus.UsingInMemory((context, transport) => transport.ConfigureEndpoints(context));
        });
        var running = new RunningDispatcher(database, services.BuildServiceProvider(), clock, published);
        await running.StartAsync();
        return running;
    }

    private sealed class RunningDispatcher(
        PostgresDatabase database, ServiceProvider services, DeleteLoopClock clock, ConcurrentQueue<ReceiptUpdated> published)
        : IAsyncDisposable
    {
        private readonly string _room = $"room-{Guid.NewGuid():N}";
        private bool _stopped;

        public DeleteLoopClock Clock => clock;

        public async Task StartAsync()
        {
            await services.GetRequiredService<IBusControl>().StartAsync(Cancel);
            await services.GetRequiredService<OutboxDispatcher>().StartAsync(Cancel);
        }

        /// <summary>Writes one receipt row per seq in this dispatcher's room, hands them over as committed, and waits until they were published.</summary>
        public async Task<List<OutboxMessage>> PublishAsync(params long[] seqs)
        {
            await using var db = database.NewContext();
            var rows = seqs.Select(seq => OutboxMessage.For(new ReceiptUpdated(_room, "bob", seq, 0), clock.GetUtcNow())).ToList();
            db.Outbox.AddRange(rows);
            await db.SaveChangesAsync(Cancel);
            services.GetRequiredService<OutboxSignal>().Committed(rows);
            await EventuallyAsync(() => Task.FromResult(seqs.All(seq => published.Any(receipt => receipt.RoomId == _room && receipt.Delivered == seq))));
            return rows;
        }

        public async Task StopAsync()
        {
            _stopped = true;
            // Bounded: a stop that hangs fails the test instead of the whole run.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
            bounded.CancelAfter(Patience);
            await services.GetRequiredService<OutboxDispatcher>().StopAsync(bounded.Token);
            bounded.IsCancellationRequested.ShouldBeFalse("the dispatcher did not stop in time");
            await services.GetRequiredService<IBusControl>().StopAsync(bounded.Token);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stopped)
            {
                await StopAsync();
            }

            await services.DisposeAsync();
        }
    }

    /// <summary>
    /// Moves the clock by the interval each time the delete loop waits on it, until the rows are gone. A row's id
    /// reaches the loop only once the dispatcher's publish has returned, which can be just after the test saw the
    /// row arrive, so one delete may miss it and leave it to the next.
    /// </summary>
    private async Task AdvanceUntilDeletedAsync(RunningDispatcher dispatcher, IReadOnlyList<OutboxMessage> rows) =>
        await EventuallyAsync(async () =>
        {
            // Read before the rows: a loop parked then has already deleted what it held, so rows left now wait for
            // the next round. Read after, it could have parked just after the query saw rows it then deleted, and
            // the advance would spend the wait that the caller expects to find.
            var parked = dispatcher.Clock.DeleteLoopWaiting.IsCompleted;
            if ((await RowsAsync(rows)).Count == 0)
            {
                return true;
            }

            if (parked)
            {
                dispatcher.Clock.Advance(DeleteInterval);
            }

            return false;
        });

    private async Task<List<long>> RowsAsync(IEnumerable<OutboxMessage> rows)
    {
        var ids = rows.Select(row => row.Id).ToList();
        await using var db = database.NewContext();
        return await db.Outbox.Where(row => ids.Contains(row.Id)).Select(row => row.Id).ToListAsync(Cancel);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(until, "the condition did not hold in time");
            await Task.Delay(20, Cancel);
        }
    }

    /// <summary>
    /// A test clock that tells when the delete loop has parked on it: the loop's wait is the only timer of the
    /// delete interval's length. Without that signal the test could check the table before the loop ever waited.
    /// </summary>
    private sealed class DeleteLoopClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the delete loop starts waiting for the interval (again, after each advance).</summary>
        public Task DeleteLoopWaiting => Volatile.Read(ref _waiting).Task;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime == DeleteInterval)
            {
                Volatile.Read(ref _waiting).TrySetResult();
            }

            return timer;
        }

        public new void Advance(TimeSpan delta)
        {
            Volatile.Write(ref _waiting, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            base.Advance(delta);
        }
    }

    private sealed class RecordReceipts(ConcurrentQueue<ReceiptUpdated> published) : IConsumer<ReceiptsUpdated>
    {
        public Task Consume(ConsumeContext<ReceiptsUpdated> context)
        {
            foreach (var receipt in context.Message.Receipts)
            {
                published.Enqueue(receipt);
            }

            return Task.CompletedTask;
        }
    }
}
