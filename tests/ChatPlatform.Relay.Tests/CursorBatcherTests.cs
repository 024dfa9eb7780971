using ChatPlatform.Contracts;
using ChatPlatform.Relay.Receipts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Tests;

public sealed class CursorBatcherTests() : BatcherTests<CursorBatcher, CursorsAdvanced>(bus => new CursorBatcher(bus,
    Options.Create(new RelayOptions { CursorFlushInterval = TimeSpan.FromMilliseconds(20), PublishTimeout = TimeSpan.FromMilliseconds(200) }),
    NullLogger<CursorBatcher>.Instance))
{
    [Fact]
    public async Task A_flush_the_broker_never_confirms_is_given_up_and_its_cursors_leave_with_the_next_one()
    {
        Batcher.Read("room-1", "bob", 1);
        await Broker.WaitForPublishesAsync(1);
        Batcher.Delivered("room-1", "carol", 1);

        // The first publish is never confirmed, as when its confirm was lost with a broker restart.
        await Broker.WaitForPublishesAsync(2);

        Broker.Published[1].Cursors.OrderBy(cursor => cursor.User).ShouldBe(
            [new CursorAdvanced("room-1", "bob", 1, 1), new CursorAdvanced("room-1", "carol", 1, 0)]);
    }
}
