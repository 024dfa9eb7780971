using ChatPlatform.IntegrationTests.Infrastructure;

namespace ChatPlatform.IntegrationTests;

/// <summary>
/// Traces as an operator sees them in Jaeger: the services of a stack of their own export over OTLP to a receiver
/// in the test, and one chat message is one trace across the relay and Delivery, although the broker carries
/// messages in batches.
/// </summary>
public class TracingTests(TracedStack traced) : IClassFixture<TracedStack>
{
    private const string MessageIdTag = "chat.message.id";
    private static readonly TimeSpan SpanTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task One_message_is_one_trace_from_send_through_store_to_push()
    {
        var room = RelayTests.NewRoom();
        var id = Guid.CreateVersion7();
        await using (var alice = await RelayClient.JoinAsync(traced.Stack.GatewayUrl, "alice", room))
        {
            await alice.SendUntilAcceptedAsync(id, room, "traced", TimeSpan.FromSeconds(30));
            (await alice.WaitForDistinctMessagesAsync(room, 1, TimeSpan.FromSeconds(30))).ShouldBeTrue();
        }

        ReceivedSpan? SpanOf(string name) =>
            traced.Receiver.Spans.FirstOrDefault(span => span.Name == name && span.Attributes.GetValueOrDefault(MessageIdTag) == id.ToString());

        (await RelayClient.WaitUntilAsync(
                () => SpanOf("chat.send") is { } sent
                      && ReachesAncestor(SpanOf("chat.store"), sent.SpanId)
                      && ReachesAncestor(SpanOf("chat.push"), SpanOf("chat.store")!.SpanId),
                SpanTimeout))
            .ShouldBeTrue($"chat.send, chat.store and chat.push of {id} in one chain; received:\n{Describe(traced.Receiver.Spans)}");

        var send = SpanOf("chat.send")!;
        var store = SpanOf("chat.store")!;
        var push = SpanOf("chat.push")!;
        send.Service.ShouldBe("relay");
        send.ParentSpanId.ShouldBeEmpty("a message's trace starts at its send, not at its hours-long connection");
        store.Service.ShouldBe("delivery");
        push.Service.ShouldBe("relay");
        new[] { store.TraceId, push.TraceId }.ShouldAllBe(traceId => traceId == send.TraceId);

        // The connection's own trace (the upgrade request, through the gateway) ends when the socket closes.
        var connectionTrace = send.LinkedTraceIds.ShouldHaveSingleItem();
        (await RelayClient.WaitUntilAsync(
                () => traced.Receiver.Spans.Any(span => span.Service == "gateway" && span.TraceId == connectionTrace),
                SpanTimeout))
            .ShouldBeTrue($"chat.send links to the connection's trace, which holds the gateway's span; received:\n{Describe(traced.Receiver.Spans)}");
    }

    /// <summary>Whether the span's parent chain, through every service's spans of its trace, reaches the ancestor.</summary>
    private bool ReachesAncestor(ReceivedSpan? span, string ancestorSpanId)
    {
        var trace = traced.Receiver.Spans.Where(candidate => candidate.TraceId == span?.TraceId).ToDictionary(candidate => candidate.SpanId);
        for (var current = span; current is not null; current = trace.GetValueOrDefault(current.ParentSpanId))
        {
            if (current.ParentSpanId == ancestorSpanId)
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(IEnumerable<ReceivedSpan> spans) => string.Join('\n', spans);
}
