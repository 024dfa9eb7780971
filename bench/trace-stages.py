#!/usr/bin/env python3
"""Where a chat message's time goes, stage by stage, from the services' own OTLP traces.

  python3 bench/trace-stages.py receive --spans /tmp/spans.jsonl &      # an OTLP/HTTP endpoint on :4318
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf ./chat up -d --instances 2
  ./chat bench relay --clients 50 --rooms 10 --rate 10 --seconds 30
  python3 bench/trace-stages.py report --spans /tmp/spans.jsonl
  python3 bench/trace-stages.py report --spans /tmp/spans.jsonl --slowest 2     # where the tail's time goes

`receive` keeps every span it is sent (name, service, ids, start and end) as one JSON line. `report` takes each
traced message (a trace with a `chat.send` span) and prints, for every kind of span in it, the median offset of
its start and end from the relay's `chat.send`, in milliseconds, in the order the stages happen. Batch spans
(`chat.submit`, `chat.outbox.dispatch`) link the messages they carry and count for each of them.

It decodes the few protobuf fields it needs by hand, so it runs on Debian's python3 with nothing installed.
Exporting spans costs CPU: use it at low rates, not for the throughput figures.
"""
import argparse
import collections
import http.server
import json
import statistics
import struct
import threading

BATCH_SPANS = ("chat.submit", "chat.outbox.dispatch")


def varint(data, index):
    result = shift = 0
    while True:
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, index


def fields(data):
    """(field number, value) of a protobuf message; length-delimited values stay bytes."""
    index = 0
    while index < len(data):
        tag, index = varint(data, index)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, index = varint(data, index)
        elif wire_type == 1:
            value = struct.unpack_from("<Q", data, index)[0]
            index += 8
        elif wire_type == 5:
            value = struct.unpack_from("<I", data, index)[0]
            index += 4
        elif wire_type == 2:
            length, index = varint(data, index)
            value = data[index:index + length]
            index += length
        else:
            raise ValueError(f"wire type {wire_type}")
        yield number, value


def service_name(resource):
    # Resource { repeated KeyValue attributes = 1 }, KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string = 1 }
    for number, attribute in fields(resource):
        pair = dict(fields(attribute)) if number == 1 else {}
        if pair.get(1) == b"service.name":
            return dict(fields(pair[2])).get(1, b"").decode()
    return ""


def spans_of(request):
    """ExportTraceServiceRequest { ResourceSpans = 1 } → ResourceSpans { Resource = 1; ScopeSpans = 2 } → Span = 2."""
    for number, resource_spans in fields(request):
        if number != 1:
            continue
        service = ""
        for part, value in fields(resource_spans):
            if part == 1:
                service = service_name(value)
            elif part == 2:
                for kind, span in fields(value):
                    if kind != 2:
                        continue
                    values, links = {}, []
                    for field, content in fields(span):
                        if field == 13:
                            links.append(dict(fields(content)).get(1, b"").hex())
                        else:
                            values[field] = content
                    # Span { trace_id 1; span_id 2; name 5; start_time_unix_nano 7; end_time_unix_nano 8; links 13 }
                    yield {"service": service, "trace": values[1].hex(), "span": values[2].hex(),
                           "name": values[5].decode(), "start": values[7], "end": values[8], "links": links}


def receive(arguments):
    lock = threading.Lock()
    with open(arguments.spans, "a", encoding="utf-8") as output:
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces":
                    lines = [json.dumps(span) + "\n" for span in spans_of(body)]
                    with lock:
                        output.writelines(lines)
                        output.flush()
                # Metrics and logs are accepted and dropped; an empty response means everything was taken.
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = http.server.ThreadingHTTPServer((arguments.host, arguments.port), Handler)
        server.request_queue_size = 128
        print(f"receiving OTLP on http://{arguments.host}:{arguments.port}, spans to {arguments.spans}", flush=True)
        server.serve_forever()


def percent(text):
    value = float(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage above 0 and up to 100")
    return value


def report(arguments):
    with open(arguments.spans, encoding="utf-8") as source:
        spans = [json.loads(line) for line in source]
    traces = collections.defaultdict(list)
    for span in spans:
        traces[span["trace"]].append(span)
    for span in spans:
        if span["name"] in BATCH_SPANS:
            for linked in span["links"]:
                if linked != span["trace"] and linked in traces:
                    traces[linked].append(span)

    traced = [(trace, send) for trace in traces.values()
              for send in [next((span for span in trace if span["name"] == "chat.send"), None)] if send is not None]
    if arguments.slowest is not None:
        # The tail: messages ranked by when their last span began (the last push), so the stage whose gap widens
        # against the plain report is where the slow ones lost their time.
        traced.sort(key=lambda pair: max(span["start"] for span in pair[0]) - pair[1]["start"])
        traced = traced[-max(1, int(len(traced) * arguments.slowest / 100)):]
        print(f"the slowest {arguments.slowest:g}% by their last span's start:")
    offsets = collections.defaultdict(list)
    for trace, send in traced:
        first = {}
        for span in trace:
            key = (span["service"], span["name"])
            start, end = (span["start"] - send["start"]) / 1e6, (span["end"] - send["start"]) / 1e6
            if key not in first or start < first[key][0]:
                first[key] = (start, end)
        for key, value in first.items():
            offsets[key].append(value)

    messages = max((len(values) for values in offsets.values()), default=0)
    print(f"{messages} traced messages; offsets from the relay's chat.send, in ms (p50 of start, p50 of end, p90 of start)")
    # A stage seen in fewer than half of the messages is a side path (a retry, a gap fill), not the message's way.
    rows = [(statistics.median(start for start, _ in values), key, values) for key, values in offsets.items()
            if len(values) >= max(1 if arguments.slowest is not None else 5, messages // 2)]
    for start, (service, name), values in sorted(rows):
        starts = sorted(start for start, _ in values)
        end = statistics.median(end for _, end in values)
        print(f"{service:10} {name[:48]:48} {start:8.2f} {end:8.2f} {starts[int(len(starts) * 0.9)]:8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    receiver = commands.add_parser("receive", help="listen for OTLP/HTTP spans and keep them")
    receiver.add_argument("--host", default="127.0.0.1")
    receiver.add_argument("--port", type=int, default=4318)
    receiver.add_argument("--spans", default="spans.jsonl")
    reporter = commands.add_parser("report", help="print the stages of the kept traces")
    reporter.add_argument("--spans", default="spans.jsonl")
    reporter.add_argument("--slowest", type=percent, metavar="PERCENT",
                          help="only the slowest PERCENT of the messages, to see which stage holds the tail")
    arguments = parser.parse_args()
    (receive if arguments.command == "receive" else report)(arguments)


if __name__ == "__main__":
    main()
