using System.Diagnostics;

namespace ChatPlatform.ServiceDefaults.Telemetry;

/// <summary>
/// One trace per chat message, although the broker carries messages in batches. MassTransit propagates one trace
/// context per broker message, so a batch would lose every chat message's own: instead each chat message carries
/// its traceparent in the contract (and in its outbox row), and every hop starts its span from that.
/// With no listener (tracing off) every method returns null at once and allocates nothing.
/// </summary>
public static class MessageTracing
{
    public const string MessageIdTag = "chat.message.id";
    public const string RoomIdTag = "chat.room.id";

    /// <summary>
    /// Starts a span as the root of a trace of its own, linked to <paramref name="link"/>, and leaves the current
    /// span as it was. For one message on a long-lived connection: as a child of the connection's request every
    /// message of an hours-long session would fall into one giant trace.
    /// </summary>
    public static Activity? StartNewTrace(this ActivitySource source, string name, ActivityKind kind, ActivityContext link)
    {
        if (!source.HasListeners())
        {
            return null;
        }

        var current = Activity.Current;
        try
        {
            return source.StartRoot(name, kind, link == default ? null : [new ActivityLink(link)]);
        }
        finally
        {
            Activity.Current = current;
        }
    }

    /// <summary>
    /// Starts a span in the trace of the message whose traceparent this is. When the current span (the broker's
    /// consume) is in that trace already, as it is for a batch of one, the span nests under it; otherwise its
    /// parent is the traceparent and it links to the current span, the batch it came in.
    /// </summary>
    public static Activity? StartInMessageTrace(this ActivitySource source, string name, ActivityKind kind, string? traceParent)
    {
        if (!source.HasListeners())
        {
            return null;
        }

        var current = Activity.Current;
        if (!TryParse(traceParent, out var parent) || current?.TraceId == parent.TraceId)
        {
            return source.StartActivity(name, kind);
        }

        return source.StartActivity(name, kind, parent, links: current is null ? null : [new ActivityLink(current.Context)]);
    }

    /// <summary>
    /// Starts the span of one publish that carries many messages, and makes it current so the broker's spans nest
    /// under it. A batch of one continues its message's trace, so that trace holds the whole path; a larger batch
    /// is a trace of its own that links every message's trace.
    /// </summary>
    public static Activity? StartBatch<T>(
        this ActivitySource source, string name, ActivityKind kind, IReadOnlyList<T> messages, Func<T, string?> traceParentOf)
    {
        if (!source.HasListeners() || messages.Count == 0)
        {
            return null;
        }

        if (messages.Count == 1)
        {
            return TryParse(traceParentOf(messages[0]), out var parent)
                ? source.StartActivity(name, kind, parent)
                : source.StartRoot(name, kind, links: null);
        }

        var links = new List<ActivityLink>(messages.Count);
        foreach (var message in messages)
        {
            if (TryParse(traceParentOf(message), out var context))
            {
                links.Add(new ActivityLink(context));
            }
        }

        return source.StartRoot(name, kind, links);
    }

    /// <summary>Names the message a span is about. Span tags only: these ids are far too many for metric labels.</summary>
    public static Activity? TagMessage(this Activity? activity, Guid messageId, string roomId)
    {
        activity?.SetTag(MessageIdTag, messageId.ToString()).SetTag(RoomIdTag, roomId);
        return activity;
    }

    /// <summary>The span's W3C traceparent for a message to carry; null (and no string made) when there is no span.</summary>
    public static string? TraceParent(this Activity? activity) =>
        activity is { IdFormat: ActivityIdFormat.W3C } ? activity.Id : null;

    private static Activity? StartRoot(this ActivitySource source, string name, ActivityKind kind, IEnumerable<ActivityLink>? links)
    {
        // StartActivity takes the current span as the parent whenever it is given none.
        Activity.Current = null;
        return source.StartActivity(name, kind, parentContext: default, links: links);
    }

    private static bool TryParse(string? traceParent, out ActivityContext context)
    {
        context = default;
        return traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out context);
    }
}
