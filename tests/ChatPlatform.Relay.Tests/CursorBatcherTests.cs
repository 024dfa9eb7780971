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
        CursorAdvanced bobsRead = new("room-1", "bob", 1, 1), carolsAck = new("room-1", "carol", 1, 0);
        Batcher.Read("room-1", "bob", 1);
        await Broker.WaitForPublishesAsync(1);
        Batcher.Delivered("room-1", "carol", 1);

        // No publish is ever confirmed, as when the confirm of the first was lost with a broker restart: every flush
        // gives up and the next one carries its cursors again, with whatever came in meanwhile.
        await Broker.WaitUntilPublishedAsync(
            published => published.Skip(1).Any(flush => flush.Cursors.Contains(bobsRead) && flush.Cursors.Contains(carolsAck)),
            "a later flush with bob's read and carol's ack");

        Broker.Published[0].Cursors.ShouldBe([bobsRead]);
    }
}
