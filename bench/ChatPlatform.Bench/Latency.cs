using System.Globalization;

namespace ChatPlatform.Bench;

/// <summary>Latency samples in milliseconds and their percentiles (nearest rank).</summary>
internal sealed class Latency
{
    private readonly List<double> _samples = [];
    private readonly Lock _gate = new();

    // A report asks for several percentiles of the same samples: sort once until the next Add.
    private double[]? _sorted;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _samples.Count;
            }
        }
    }

    public void Add(double milliseconds)
    {
        lock (_gate)
        {
            _samples.Add(milliseconds);
            _sorted = null;
        }
    }

    public double Percentile(double percent)
    {
        lock (_gate)
        {
            if (_samples.Count == 0)
            {
                return double.NaN;
            }

            var sorted = _sorted ??= _samples.Order().ToArray();
            var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
            return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
        }
    }

    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"p50 {Percentile(50):F2} ms  p95 {Percentile(95):F2} ms  p99 {Percentile(99):F2} ms  max {Percentile(100):F2} ms  ({Count} samples)");
}
