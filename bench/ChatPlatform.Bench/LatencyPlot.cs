using System.Globalization;
using System.Text;

namespace ChatPlatform.Bench;

/// <summary>
/// A small line chart as SVG, drawn by hand so the bench needs no plotting package. Latency goes on a log scale:
/// p50 and max differ by orders of magnitude under load, and on a linear axis the p50 line would be flat at zero.
/// </summary>
internal static class LatencyPlot
{
    public sealed record Line(string Name, string Color, IReadOnlyList<double> Values);

    private const double Width = 860;
    private const double Height = 480;
    private const double Left = 70;
    private const double Right = 130;
    private const double Top = 50;
    private const double Bottom = 60;
    private const double PlotWidth = Width - Left - Right;
    private const double PlotHeight = Height - Top - Bottom;

    /// <summary>Writes the chart; NaN values (no sample) leave a gap in their line. <paramref name="limit"/> is drawn dashed.</summary>
    public static void Write(string path, string title, string horizontalLabel, IReadOnlyList<double> horizontal, IReadOnlyList<Line> lines, double limit)
    {
        var values = lines.SelectMany(line => line.Values).Where(value => double.IsFinite(value) && value > 0).Append(limit).ToList();
        var lowestDecade = Math.Max(-3, Math.Floor(Math.Log10(values.Min())));
        var highestDecade = Math.Max(lowestDecade + 1, Math.Ceiling(Math.Log10(values.Max())));
        var leftmost = horizontal.Count > 0 ? horizontal.Min() : 0;
        var rightmost = horizontal.Count > 0 ? horizontal.Max() : 1;
        if (rightmost <= leftmost)
        {
            rightmost = leftmost + 1;
        }

        double X(double value) => Left + ((value - leftmost) / (rightmost - leftmost) * PlotWidth);
        double Y(double milliseconds) =>
            Top + ((highestDecade - Math.Log10(Math.Max(milliseconds, Math.Pow(10, lowestDecade)))) / (highestDecade - lowestDecade) * PlotHeight);

        var svg = new StringBuilder();
        Append(svg, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" viewBox="0 0 {Width} {Height}" font-family="sans-serif" font-size="12">""");
        Append(svg, $"""<rect width="{Width}" height="{Height}" fill="white"/>""");
        Append(svg, $"""<text x="{Width / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">{Escape(title)}</text>""");

        // Decades labelled, 2× and 5× as faint lines: enough to read a value off the log scale.
        for (var decade = lowestDecade; decade <= highestDecade; decade++)
        {
            var value = Math.Pow(10, decade);
            Append(svg, $"""<line x1="{Left}" x2="{Left + PlotWidth}" y1="{Y(value):F1}" y2="{Y(value):F1}" stroke="#ccc"/>""");
            Append(svg, $"""<text x="{Left - 6}" y="{Y(value) + 4:F1}" text-anchor="end">{value.ToString("0.###", CultureInfo.InvariantCulture)}</text>""");
            foreach (var minor in (double[])[2, 5])
            {
                if (decade < highestDecade)
                {
                    Append(svg, $"""<line x1="{Left}" x2="{Left + PlotWidth}" y1="{Y(value * minor):F1}" y2="{Y(value * minor):F1}" stroke="#eee"/>""");
                }
            }
        }

        var tick = TickStep(rightmost - leftmost);
        for (var value = Math.Ceiling(leftmost / tick) * tick; value <= rightmost + (tick / 1000); value += tick)
        {
            Append(svg, $"""<line x1="{X(value):F1}" x2="{X(value):F1}" y1="{Top}" y2="{Top + PlotHeight}" stroke="#eee"/>""");
            Append(svg, $"""<text x="{X(value):F1}" y="{Top + PlotHeight + 16}" text-anchor="middle">{value.ToString("#,0", CultureInfo.InvariantCulture)}</text>""");
        }

        Append(svg, $"""<rect x="{Left}" y="{Top}" width="{PlotWidth}" height="{PlotHeight}" fill="none" stroke="#333"/>""");
        Append(svg, $"""<text x="{Left + (PlotWidth / 2)}" y="{Height - 16}" text-anchor="middle">{Escape(horizontalLabel)}</text>""");
        Append(svg, $"""<text transform="translate(18 {Top + (PlotHeight / 2)}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>""");

        Append(svg, $"""<line x1="{Left}" x2="{Left + PlotWidth}" y1="{Y(limit):F1}" y2="{Y(limit):F1}" stroke="#d62728" stroke-dasharray="6 4"/>""");
        var legend = Top + 10;
        foreach (var line in lines)
        {
            DrawLine(svg, line, horizontal, X, Y);
            Append(svg, $"""<line x1="{Left + PlotWidth + 12}" x2="{Left + PlotWidth + 36}" y1="{legend}" y2="{legend}" stroke="{line.Color}" stroke-width="2"/>""");
            Append(svg, $"""<text x="{Left + PlotWidth + 42}" y="{legend + 4}">{Escape(line.Name)}</text>""");
            legend += 20;
        }

        Append(svg, $"""<line x1="{Left + PlotWidth + 12}" x2="{Left + PlotWidth + 36}" y1="{legend}" y2="{legend}" stroke="#d62728" stroke-dasharray="6 4"/>""");
        Append(svg, $"""<text x="{Left + PlotWidth + 42}" y="{legend + 4}">p99 limit {limit} ms</text>""");
        svg.Append("</svg>\n");

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(path, svg.ToString());
    }

    /// <summary>One polyline per run of finite values; a marker on each point when there are few enough to see.</summary>
    private static void DrawLine(StringBuilder svg, Line line, IReadOnlyList<double> horizontal, Func<double, double> x, Func<double, double> y)
    {
        var points = new List<string>();
        var count = Math.Min(horizontal.Count, line.Values.Count);
        for (var index = 0; index <= count; index++)
        {
            if (index < count && double.IsFinite(line.Values[index]))
            {
                points.Add(string.Create(CultureInfo.InvariantCulture, $"{x(horizontal[index]):F1},{y(line.Values[index]):F1}"));
                if (count <= 40)
                {
                    Append(svg, $"""<circle cx="{x(horizontal[index]):F1}" cy="{y(line.Values[index]):F1}" r="3" fill="{line.Color}"/>""");
                }

                continue;
            }

            if (points.Count > 0)
            {
                Append(svg, $"""<polyline points="{string.Join(' ', points)}" fill="none" stroke="{line.Color}" stroke-width="2"/>""");
                points.Clear();
            }
        }
    }

    /// <summary>A 1, 2 or 5 × 10^n step giving about eight ticks across the span; never below 1 (seconds and rates are whole).</summary>
    private static double TickStep(double span)
    {
        var raw = Math.Max(1, span / 8);
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var residual = raw / magnitude;
        return magnitude * (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10);
    }

    private static void Append(StringBuilder svg, FormattableString element) =>
        svg.Append(element.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
