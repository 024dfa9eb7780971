using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>What a service process holds at one moment: resident memory from the kernel, the rest from its /metrics.</summary>
/// <param name="ResidentBytes">VmRSS: every page of the process in RAM, native and managed alike.</param>
/// <param name="HeapBytes">The managed heap as the last collection left it (live objects and fragmentation).</param>
/// <param name="CommittedBytes">Memory the GC holds from the OS, used or not, as of the last collection.</param>
/// <param name="PooledBytes">Kestrel's memory pool: I/O blocks kept for reuse (part of the heap; .NET 10 evicts idle ones over time).</param>
/// <param name="Connections">chat_connections: the sockets the service itself counts as open (the gateway counts those it proxies).</param>
/// <param name="FullCollections">Gen2 collections so far, to tell whether a forced one happened.</param>
internal sealed record MemoryReading(
    long ResidentBytes, double? HeapBytes, double? CommittedBytes, double? PooledBytes, double? Connections, double? FullCollections);

/// <summary>
/// A service (a relay, a signaling instance, the gateway) seen from outside, the way an operator would see it: /proc
/// for what the kernel charges the process, /metrics for what the runtime and the service report. Linux only, like the
/// stack.
/// </summary>
internal sealed class ServiceProcess(int processId, Uri service) : IDisposable
{
    // Names as the OpenTelemetry Prometheus exporter writes the System.Runtime meter that AddRuntimeInstrumentation
    // enables on .NET 9 and later.
    private const string HeapMetric = "dotnet_gc_last_collection_heap_size_bytes";
    private const string CommittedMetric = "dotnet_gc_last_collection_memory_committed_size_bytes";
    private const string CollectionsMetric = "dotnet_gc_collections_total";
    private const string PoolMetric = "aspnetcore_memory_pool_pooled_bytes";
    private const string ConnectionsMetric = "chat_connections";
    private const string ListenState = "0A";

    private static readonly string[] SocketTables = ["/proc/net/tcp", "/proc/net/tcp6"];

    private readonly HttpClient _http = new() { BaseAddress = service, Timeout = TimeSpan.FromSeconds(10) };

    public int ProcessId => processId;

    /// <summary>The process listening on the port, through /proc/net/tcp's socket inode and the fds that point at it.</summary>
    public static int FindListening(int port)
    {
        var inodes = SocketTables
            .Where(File.Exists)
            .SelectMany(File.ReadLines)
            .Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length > 9 && fields[3] == ListenState && fields[1].EndsWith(string.Create(CultureInfo.InvariantCulture, $":{port:X4}"), StringComparison.Ordinal))
            .Select(fields => $"socket:[{fields[9]}]")
            .ToHashSet(StringComparer.Ordinal);
        if (inodes.Count == 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Nothing listens on port {port}: start the stack first (./chat up -d --instances 2)."));
        }

        foreach (var process in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(process), CultureInfo.InvariantCulture, out var candidate))
            {
                continue;
            }

            try
            {
                if (Directory.EnumerateFileSystemEntries(Path.Combine(process, "fd")).Any(fd => new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target)))
                {
                    return candidate;
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // A process that ended meanwhile, or one of another user: neither can be the service we started.
            }
        }

        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The process listening on port {port} was not found; name it with --pid."));
    }

    /// <summary>The soft limit on open files of a process: past it, accept() fails and sockets are refused.</summary>
    public static long? OpenFileLimit(string process) =>
        File.ReadLines($"/proc/{process}/limits")
            .Where(line => line.StartsWith("Max open files", StringComparison.Ordinal))
            .Select(line => line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0])
            .Select(value => long.TryParse(value, CultureInfo.InvariantCulture, out var limit) ? limit : (long?)null)
            .FirstOrDefault();

    public async Task<MemoryReading> ReadAsync()
    {
        var metrics = await _http.GetStringAsync("/metrics");
        return new MemoryReading(
            ResidentBytes(),
            Sum(metrics, HeapMetric),
            Sum(metrics, CommittedMetric),
            Sum(metrics, PoolMetric),
            Sum(metrics, ConnectionsMetric),
            Sum(metrics, CollectionsMetric, "gc_heap_generation=\"gen2\""));
    }

    public void Dispose() => _http.Dispose();

    private long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{processId}/status").FirstOrDefault(line => line.StartsWith("VmRSS:", StringComparison.Ordinal))
            ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Process {processId} has ended."));
        // "VmRSS:   123456 kB": the kernel's kB are KiB.
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>The sum of a metric's samples in Prometheus text (over its labels; only those containing a label, when given); null when absent.</summary>
    private static double? Sum(string metrics, string name, string? label = null)
    {
        double? sum = null;
        foreach (var line in metrics.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length == name.Length || line[name.Length] is not ('{' or ' '))
            {
                continue;
            }

            var labelsEnd = line.LastIndexOf('}');
            if (label is not null && (labelsEnd < 0 || !line.AsSpan(0, labelsEnd).Contains(label, StringComparison.Ordinal)))
            {
                continue;
            }

            var value = line[(labelsEnd < 0 ? name.Length : labelsEnd + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            sum = (sum ?? 0) + double.Parse(value, CultureInfo.InvariantCulture);
        }

        return sum;
    }
}
