using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace ChatPlatform.Bench;

/// <summary>
/// Forces a full, blocking garbage collection in another .NET process through its diagnostics port, the way
/// dotnet-gcdump does: an EventPipe session that enables the runtime provider's GCHeapCollect keyword makes the runtime
/// collect at once. Without it an idle server may not collect for minutes, and its "heap size after the last
/// collection" would describe some moment during the opening instead of what the open connections hold.
/// </summary>
/// <remarks>The protocol: dotnet/diagnostics, documentation/design-docs/ipc-protocol.md (CollectTracing2, StopTracing).</remarks>
internal static class InducedCollection
{
    private const int HeaderBytes = 20;
    private const byte EventPipeCommands = 0x02;
    private const byte StopTracing = 0x01;
    private const byte CollectTracing2 = 0x03;
    private const byte ServerCommands = 0xFF;
    private const byte ServerOk = 0x00;
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";
    private const ulong GcKeyword = 0x1;
    private const ulong GcHeapCollectKeyword = 0x800000;
    private const uint InformationalLevel = 4;
    private const uint NetTraceFormat = 1;
    private const uint SessionBufferMegabytes = 16;

    private static readonly byte[] Magic = "DOTNET_IPC_V1\0"u8.ToArray();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Collects once and returns when the session is over; throws InvalidOperationException when it cannot.</summary>
    public static async Task CollectAsync(int processId)
    {
        var port = Port(processId);
        using var session = await ConnectAsync(port);
        await session.SendAsync(Message(EventPipeCommands, CollectTracing2, SessionPayload()));
        // The runtime collects as it enables the provider; the bench checks the gen2 count afterwards.
        var sessionId = await ReadResponseAsync(session);
        // Events stream on this connection until the stop; they are read and dropped so the runtime never waits on them.
        var drain = DrainAsync(session);
        using (var control = await ConnectAsync(port))
        {
            await control.SendAsync(Message(EventPipeCommands, StopTracing, sessionId));
            await ReadResponseAsync(control);
        }

        await drain.WaitAsync(Timeout);
    }

    /// <summary>/tmp/dotnet-diagnostic-{pid}-{start time}-socket ($TMPDIR when set), as the runtime names it.</summary>
    private static string Port(int processId)
    {
        var pattern = string.Create(CultureInfo.InvariantCulture, $"dotnet-diagnostic-{processId}-*-socket");
        return new[] { Path.TrimEndingDirectorySeparator(Path.GetTempPath()), "/tmp" }
            .Distinct()
            .Where(Directory.Exists)
            .SelectMany(directory => Directory.EnumerateFiles(directory, pattern))
            .FirstOrDefault()
            ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Process {processId} has no diagnostics port (DOTNET_EnableDiagnostics=0?), so no collection can be forced."));
    }

    private static async Task<Socket> ConnectAsync(string port)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(port)).WaitAsync(Timeout);
            return socket;
        }
        catch (Exception exception) when (exception is SocketException or TimeoutException)
        {
            socket.Dispose();
            throw new InvalidOperationException($"The diagnostics port {port} did not answer: {exception.Message}", exception);
        }
    }

    /// <summary>uint buffer size, uint format, bool rundown (no: it would walk every method), one provider (BinaryWriter writes little-endian).</summary>
    private static byte[] SessionPayload()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(SessionBufferMegabytes);
            writer.Write(NetTraceFormat);
            writer.Write(false);
            writer.Write(1u);
            writer.Write(GcKeyword | GcHeapCollectKeyword);
            writer.Write(InformationalLevel);
            // A string is its UTF-16 length with the terminating zero, then the characters and the zero.
            writer.Write((uint)RuntimeProvider.Length + 1);
            writer.Write(Encoding.Unicode.GetBytes(RuntimeProvider + "\0"));
            // No filter data: an empty string is a zero length.
            writer.Write(0u);
        }

        return stream.ToArray();
    }

    private static byte[] Message(byte commandSet, byte command, ReadOnlySpan<byte> payload)
    {
        var message = new byte[HeaderBytes + payload.Length];
        Magic.CopyTo(message, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(14), (ushort)message.Length);
        message[16] = commandSet;
        message[17] = command;
        payload.CopyTo(message.AsSpan(HeaderBytes));
        return message;
    }

    /// <summary>The payload of the runtime's OK (here: the session id), or InvalidOperationException with its error code.</summary>
    private static async Task<byte[]> ReadResponseAsync(Socket socket)
    {
        var header = await ReadExactlyAsync(socket, HeaderBytes);
        if (!header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new InvalidOperationException("The diagnostics port answered in a protocol this bench does not know.");
        }

        var payload = await ReadExactlyAsync(socket, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(14)) - HeaderBytes);
        return header[16] == ServerCommands && header[17] == ServerOk
            ? payload
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The diagnostics port refused the session: 0x{(payload.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(payload) : 0):X8}."));
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        for (var read = 0; read < count;)
        {
            var received = await socket.ReceiveAsync(buffer.AsMemory(read)).AsTask().WaitAsync(Timeout);
            read += received > 0 ? received : throw new InvalidOperationException("The diagnostics port closed the connection mid-answer.");
        }

        return buffer;
    }

    private static async Task DrainAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        while (await socket.ReceiveAsync(buffer) > 0)
        {
        }
    }
}
