using System.Diagnostics;
using ChatPlatform.ServiceDefaults.Telemetry;

namespace ChatPlatform.ServiceDefaults.Tests;

public sealed class MessageTracingTests : IDisposable
{
    // A source of its own per test, so that tests running side by side never see each other's spans.
    private readonly ActivitySource _source = new($"ChatPlatform.Tests.{Guid.NewGuid():N}");
    private readonly ActivitySource _other = new($"ChatPlatform.Tests.{Guid.NewGuid():N}");
    private readonly ActivityListener _listener;

    public MessageTracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source == _source || source == _other,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [Fact]
    public void Without_a_listener_no_span_and_no_traceparent_are_made()
    {
        using var unheard = new ActivitySource($"ChatPlatform.Tests.{Guid.NewGuid():N}");

        var activity = unheard.StartNewTrace("chat.send", ActivityKind.Producer, default).TagMessage(Guid.NewGuid(), "room");

        activity.ShouldBeNull();
        activity.TraceParent().ShouldBeNull();
        unheard.StartInMessageTrace("chat.store", ActivityKind.Consumer, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").ShouldBeNull();
        unheard.StartBatch("chat.submit", ActivityKind.Producer, ["x"], static traceParent => traceParent).ShouldBeNull();
    }

    [Fact]
    public void A_new_trace_is_a_root_linked_to_the_connection_and_leaves_the_connection_span_current()
    {
        using var connection = _other.StartActivity("GET /ws/relay")!;

        using var send = _source.StartNewTrace("chat.send", ActivityKind.Producer, connection.Context).TagMessage(Guid.Empty, "room-1")!;

        send.ParentSpanId.ShouldBe(default);
        send.TraceId.ShouldNotBe(connection.TraceId);
        send.Links.ShouldHaveSingleItem().Context.ShouldBe(connection.Context);
        send.GetTagItem(MessageTracing.RoomIdTag).ShouldBe("room-1");
        Activity.Current.ShouldBe(connection);
        send.TraceParent().ShouldBe($"00-{send.TraceId}-{send.SpanId}-01");
    }

    [Fact]
    public void A_span_in_a_message_trace_has_the_traceparent_as_parent_and_links_the_batch_it_came_in()
    {
        using var send = _source.StartNewTrace("chat.send", ActivityKind.Producer, default)!;
        using var batch = _other.StartActivity("consume MessagesSubmitted", ActivityKind.Consumer, parentContext: default)!;

        using var store = _source.StartInMessageTrace("chat.store", ActivityKind.Consumer, send.TraceParent())!;

        store.TraceId.ShouldBe(send.TraceId);
        store.ParentSpanId.ShouldBe(send.SpanId);
        store.Links.ShouldHaveSingleItem().Context.ShouldBe(batch.Context);
    }

    [Fact]
    public void A_span_in_a_message_trace_nests_under_the_current_span_when_that_is_in_the_same_trace()
    {
        using var send = _source.StartNewTrace("chat.send", ActivityKind.Producer, default)!;
        using var consume = _other.StartActivity("consume MessagesSubmitted", ActivityKind.Consumer, send.Context)!;

        using var store = _source.StartInMessageTrace("chat.store", ActivityKind.Consumer, send.TraceParent())!;

        store.ParentSpanId.ShouldBe(consume.SpanId);
        store.Links.ShouldBeEmpty();
    }

    [Fact]
    public void A_batch_of_one_continues_its_message_trace_and_a_larger_batch_is_a_root_linking_each_message()
    {
        using var first = _source.StartNewTrace("chat.send", ActivityKind.Producer, default)!;
        using var second = _source.StartNewTrace("chat.send", ActivityKind.Producer, default)!;
        string?[] both = [first.TraceParent(), second.TraceParent(), null];

        using (var single = _source.StartBatch("chat.submit", ActivityKind.Producer, [first.TraceParent()], static traceParent => traceParent)!)
        {
            single.ParentSpanId.ShouldBe(first.SpanId);
            Activity.Current.ShouldBe(single);
        }

        using var batch = _source.StartBatch("chat.submit", ActivityKind.Producer, both, static traceParent => traceParent)!;
        batch.ParentSpanId.ShouldBe(default);
        batch.Links.Select(link => link.Context.SpanId).ShouldBe([first.SpanId, second.SpanId]);
        Activity.Current.ShouldBe(batch);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
        _other.Dispose();
    }
}
