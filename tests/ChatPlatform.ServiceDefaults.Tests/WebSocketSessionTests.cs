using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using ChatPlatform.ServiceDefaults.Authentication;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChatPlatform.ServiceDefaults.Tests;

/// <summary>
/// The receive loop against a real WebSocket pair over in-memory pipes: browsers and proxies may split a message into
/// fragments, which ClientWebSocket in the integration tests never does.
/// </summary>
public sealed class WebSocketSessionTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly WebSocket _client;
    private readonly WebSocket _server;
    private readonly WebSocketSession _session;
    private readonly List<string> _frames = [];
    private readonly Task _running;
    private int _oversized;

    public WebSocketSessionTests()
    {
        var (toServer, toClient) = (new Pipe(), new Pipe());
        _server = WebSocket.CreateFromStream(new DuplexStream(toServer.Reader, toClient.Writer), new WebSocketCreationOptions { IsServer = true });
        _client = WebSocket.CreateFromStream(new DuplexStream(toClient.Reader, toServer.Writer), new WebSocketCreationOptions { IsServer = false });
        var options = new ChatWebSocketOptions { ReceiveBufferBytes = 256, MaxFrameBytes = 2048, CloseTimeout = TimeSpan.FromSeconds(1) };
        _session = new WebSocketSession(_server, new ChatUser("alice", new HashSet<string> { "*" }), "alice~1", options, NullLogger.Instance);
        _running = _session.RunAsync(
            frame =>
            {
                lock (_frames)
                {
                    _frames.Add(Encoding.UTF8.GetString(frame.Span));
                }

                return ValueTask.CompletedTask;
            },
            () => Interlocked.Increment(ref _oversized));
    }

    [Fact]
    public async Task A_message_in_fragments_is_one_frame_even_when_the_first_fragment_is_empty()
    {
        await SendAsync("", endOfMessage: false);
        await SendAsync("{\"type\":", endOfMessage: false);
        await SendAsync("\"ping\"}", endOfMessage: true);
        await SendAsync("next", endOfMessage: true);

        await WaitForFramesAsync(2);
        _frames.ShouldBe(["{\"type\":\"ping\"}", "next"]);
    }

    [Fact]
    public async Task A_message_longer_than_the_receive_buffer_arrives_whole_up_to_the_frame_limit()
    {
        var longest = new string('x', 2048);
        var fragmented = new string('y', 1500);

        await SendAsync(longest, endOfMessage: true);
        await SendAsync(fragmented[..700], endOfMessage: false);
        await SendAsync(fragmented[700..], endOfMessage: true);

        await WaitForFramesAsync(2);
        _frames.ShouldBe([longest, fragmented]);
        _oversized.ShouldBe(0);
    }

    [Fact]
    public async Task A_message_over_the_frame_limit_closes_with_1009_and_delivers_nothing()
    {
        await SendAsync(new string('z', 2049), endOfMessage: true);

        await ShouldBeClosedAsTooBigWithNothingDeliveredAsync();
    }

    [Fact]
    public async Task A_message_exactly_at_the_frame_limit_whose_last_fragment_is_empty_arrives_whole()
    {
        var longest = new string('x', 2048);

        await SendAsync(longest, endOfMessage: false);
        await SendAsync("", endOfMessage: true);
        await SendAsync("next", endOfMessage: true);

        await WaitForFramesAsync(2);
        _frames.ShouldBe([longest, "next"]);
        _oversized.ShouldBe(0);
    }

    [Fact]
    public async Task One_byte_over_the_frame_limit_in_a_later_fragment_closes_with_1009_and_delivers_nothing()
    {
        await SendAsync(new string('z', 2048), endOfMessage: false);
        await SendAsync("", endOfMessage: false);
        await SendAsync("z", endOfMessage: true);

        await ShouldBeClosedAsTooBigWithNothingDeliveredAsync();
    }

    [Fact]
    public async Task A_binary_message_is_refused_with_1003_at_its_first_fragment_without_waiting_for_the_rest()
    {
        await _client.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, endOfMessage: false, CancellationToken.None);

        var close = await ReceiveCloseAsync();

        close.ShouldBe((WebSocketCloseStatus)CloseCodes.UnsupportedData);
        _frames.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_close_in_the_middle_of_a_message_ends_the_session_without_the_partial_message()
    {
        await SendAsync("{\"type\":\"pi", endOfMessage: false);
        await _client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);

        await _running.WaitAsync(Patience);
        _frames.ShouldBeEmpty();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Abort();
        _server.Abort();
        try
        {
            await _running.WaitAsync(Patience);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
            // Aborted under it: the test is over.
        }

        _session.Dispose();
        _client.Dispose();
        _server.Dispose();
    }

    private async Task ShouldBeClosedAsTooBigWithNothingDeliveredAsync()
    {
        var close = await ReceiveCloseAsync();

        close.ShouldBe((WebSocketCloseStatus)CloseCodes.MessageTooBig);
        _oversized.ShouldBe(1);
        _frames.ShouldBeEmpty();
    }

    private Task SendAsync(string text, bool endOfMessage) =>
        _client.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage, CancellationToken.None);

    private async Task WaitForFramesAsync(int count)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            lock (_frames)
            {
                if (_frames.Count >= count)
                {
                    return;
                }
            }

            await Task.Delay(10, timeout.Token);
        }
    }

    private async Task<WebSocketCloseStatus?> ReceiveCloseAsync()
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var result = await _client.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return result.CloseStatus;
            }
        }
    }

    /// <summary>One direction read from a pipe, the other written to another: a socket's two halves in memory.</summary>
    private sealed class DuplexStream(PipeReader input, PipeWriter output) : Stream
    {
        private readonly Stream _reading = input.AsStream();
        private readonly Stream _writing = output.AsStream();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _reading.ReadAsync(buffer, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => _reading.Read(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            _writing.WriteAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => _writing.Write(buffer, offset, count);

        public override Task FlushAsync(CancellationToken cancellationToken) => _writing.FlushAsync(cancellationToken);

        public override void Flush() => _writing.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _reading.Dispose();
                _writing.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
