using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ChatPlatform.IntegrationTests.Infrastructure;

/// <summary>
/// A span as an OTLP exporter sent it: ids in lowercase hex, as W3C traceparents write them; its string-valued
/// attributes; <see cref="Service"/> is its resource's service.name.
/// </summary>
public sealed record ReceivedSpan(
    string Service, string TraceId, string SpanId, string ParentSpanId, string Name,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<string> LinkedTraceIds)
{
    public override string ToString() => $"{Service} {Name} {TraceId}/{SpanId} parent {ParentSpanId}";
}

/// <summary>
/// The receiving end of OTLP over HTTP with protobuf, inside the test: the services export their spans here as
/// they would to Jaeger. Only what the tests look at is decoded, by walking the OTLP field numbers, so the test
/// needs no generated OTLP classes.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly WebApplication _app;

    private OtlpReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/v1/traces", ReceiveTracesAsync);
        // The services export their metrics and logs over OTLP too; they are not what these tests look at.
        _app.MapPost("/v1/{signal}", () => Results.Ok());
    }

    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    /// <summary>What a service's environment needs to export here, in batches sent every 200 ms.</summary>
    public IReadOnlyDictionary<string, string> ExporterSettings { get; private set; } = new Dictionary<string, string>();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        await receiver._app.StartAsync();
        receiver.ExporterSettings = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver._app.Urls.Single(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        };
        return receiver;
    }

    private async Task<IResult> ReceiveTracesAsync(HttpRequest request)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
        foreach (var resourceSpans in Fields(ByteString.CopyFrom(body.ToArray()), 1))
        {
            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }, Resource { attributes = 1; }
            var service = Fields(resourceSpans, 1).Select(resource => StringAttributes(resource, 1).GetValueOrDefault("service.name"))
                .FirstOrDefault() ?? "";
            foreach (var span in Fields(resourceSpans, 2).SelectMany(scopeSpans => Fields(scopeSpans, 2)))
            {
                _spans.Enqueue(ReadSpan(service, span));
            }
        }

        // An empty ExportTraceServiceResponse: everything was accepted.
        return Results.Bytes([], "application/x-protobuf");
    }

    /// <summary>
    /// Span { trace_id = 1; span_id = 2; parent_span_id = 4; name = 5; attributes = 9; repeated Link links = 13; },
    /// Link { trace_id = 1; }.
    /// </summary>
    private static ReceivedSpan ReadSpan(string service, ByteString span) =>
        new(service,
            Hex(Fields(span, 1).Single()),
            Hex(Fields(span, 2).Single()),
            Fields(span, 4).Select(Hex).SingleOrDefault(parent => parent.Length > 0) ?? "",
            Fields(span, 5).Single().ToStringUtf8(),
            StringAttributes(span, 9),
            [.. Fields(span, 13).Select(link => Hex(Fields(link, 1).Single()))]);

    /// <summary>
    /// The string-valued ones of a message's attributes (repeated KeyValue in field <paramref name="fieldNumber"/>):
    /// KeyValue { key = 1; AnyValue value = 2; }, AnyValue { string_value = 1; }.
    /// </summary>
    private static Dictionary<string, string> StringAttributes(ByteString message, int fieldNumber)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var attribute in Fields(message, fieldNumber))
        {
            if (Fields(attribute, 2).SelectMany(value => Fields(value, 1)).FirstOrDefault() is { } text)
            {
                attributes[Fields(attribute, 1).Single().ToStringUtf8()] = text.ToStringUtf8();
            }
        }

        return attributes;
    }

    /// <summary>
    /// The values of one length-delimited field (bytes, string or message) of a protobuf message, in order; every
    /// other field is skipped. Length-delimited is all these tests read.
    /// </summary>
    private static List<ByteString> Fields(ByteString message, int fieldNumber)
    {
        var values = new List<ByteString>();
        var input = message.CreateCodedInput();
        for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
        {
            if (WireFormat.GetTagFieldNumber(tag) == fieldNumber && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                values.Add(input.ReadBytes());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return values;
    }

    private static string Hex(ByteString id) => Convert.ToHexStringLower(id.Span);

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
