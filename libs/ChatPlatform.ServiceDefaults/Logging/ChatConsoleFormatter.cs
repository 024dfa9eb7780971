using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace ChatPlatform.ServiceDefaults.Logging;

/// <summary>
/// One line per entry, like the simple console formatter with SingleLine, except for the failures every service
/// sees while RabbitMQ or PostgreSQL is away (a refused or closed connection, a timeout): those are written as their
/// chain of messages and one frame of where they were thrown, not the whole stack trace; one unexpected cause keeps
/// it. While the broker is down MassTransit logs every reconnect try and the health checks log every probe, each with
/// a stack trace of about 11 KB that says nothing the first line does not.
/// </summary>
internal sealed class ChatConsoleFormatter : ConsoleFormatter, IDisposable
{
    public const string FormatterName = "chat";

    private readonly IDisposable? _reload;
    private ChatConsoleFormatterOptions _options;

    public ChatConsoleFormatter(IOptionsMonitor<ChatConsoleFormatterOptions> options)
        : base(FormatterName)
    {
        _options = options.CurrentValue;
        _reload = options.OnChange(changed => _options = changed);
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        var exception = logEntry.Exception;
        if (string.IsNullOrEmpty(message) && exception is null)
        {
            return;
        }

        var options = _options;
        if (options.TimestampFormat is { Length: > 0 } timestampFormat)
        {
            var now = options.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now;
            textWriter.Write(now.ToString(timestampFormat, CultureInfo.InvariantCulture));
        }

        textWriter.Write(LevelLabel(logEntry.LogLevel));
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id);
        textWriter.Write(']');

        if (options.IncludeScopes && scopeProvider is not null)
        {
            scopeProvider.ForEachScope((scope, writer) =>
            {
                writer.Write(" => ");
                writer.Write(OneLine(scope?.ToString() ?? string.Empty));
            }, textWriter);
        }

        if (!string.IsNullOrEmpty(message))
        {
            textWriter.Write(' ');
            textWriter.Write(OneLine(message));
        }

        if (exception is not null)
        {
            textWriter.Write(' ');
            textWriter.Write(ExpectedFailure.IsExpected(exception) ? $"({ExpectedFailure.Summary(exception)})" : OneLine(exception.ToString()));
        }

        textWriter.Write(Environment.NewLine);
    }

    public void Dispose() => _reload?.Dispose();

    private static string LevelLabel(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => level.ToString().ToLowerInvariant(),
    };

    // ReplaceLineEndings returns the same string when it has nothing to replace.
    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}

/// <summary>
/// The formatter's own options type (bound from Logging:Console:FormatterOptions), so the timestamp it defaults to
/// is not also given to .NET's formatters that share <see cref="ConsoleFormatterOptions"/>, such as systemd's.
/// </summary>
public sealed class ChatConsoleFormatterOptions : ConsoleFormatterOptions;

/// <summary>The failures a service expects while a dependency is away, and how to say them in one line.</summary>
public static class ExpectedFailure
{
    // A bound on the walk, because an exception graph is built by whoever threw it: past it an exception is not
    // taken as expected, and its summary ends with an ellipsis.
    private const int MaxExceptions = 64;

    // RabbitMQ's CONNECTION_FORCED: the broker closing the connection as it stops. Other channel errors (a queue
    // declared with other arguments, access refused) are configuration defects.
    private const ushort ConnectionForced = 320;

    // PostgreSQL shutting down (admin or crash) or not accepting connections yet: a restart, which Npgsql does not
    // mark transient.
    private static readonly string[] DatabaseRestartStates = ["57P01", "57P02", "57P03"];

    /// <summary>
    /// True when every innermost exception is a lost or refused connection (a socket error, RabbitMQ closing or
    /// not reachable, a database restarting or a transient database error), a wait that ran out, or a read that
    /// ended under such a connection failure. One unexpected exception anywhere (an aggregate that also holds a
    /// defect) keeps the whole stack trace.
    /// </summary>
    public static bool IsExpected(Exception exception)
    {
        var budget = MaxExceptions;
        return LeavesExpected(exception, underConnectionFailure: false, ref budget);
    }

    /// <summary>
    /// "Type: message ---> Type: message …" for the exception and the ones inside it (an aggregate's in brackets),
    /// then where the outermost one was thrown: its first frame in code other than .NET's own, such as a
    /// CancellationToken's throw helper.
    /// </summary>
    public static string Summary(Exception exception)
    {
        var summary = new StringBuilder();
        var budget = MaxExceptions;
        Describe(exception, summary, ref budget);
        if (ThrowingFrame(exception) is { } frame)
        {
            summary.Append(' ').Append(frame);
        }

        return summary.ToString();
    }

    private static string? ThrowingFrame(Exception exception)
    {
        var frames = (exception.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return frames.FirstOrDefault(frame => !frame.StartsWith("at System.", StringComparison.Ordinal)
                && !frame.StartsWith("at Microsoft.", StringComparison.Ordinal))
            ?? frames.FirstOrDefault();
    }

    private static bool LeavesExpected(Exception exception, bool underConnectionFailure, ref int budget)
    {
        if (--budget < 0)
        {
            return false;
        }

        var isConnectionFailure = IsConnectionFailure(exception);
        var connectionFailure = underConnectionFailure || isConnectionFailure;
        if (exception is AggregateException { InnerExceptions.Count: > 0 } aggregate)
        {
            foreach (var inner in aggregate.InnerExceptions)
            {
                if (!LeavesExpected(inner, connectionFailure, ref budget))
                {
                    return false;
                }
            }

            return true;
        }

        if (exception.InnerException is { } innerException)
        {
            return LeavesExpected(innerException, connectionFailure, ref budget);
        }

        return isConnectionFailure
            || exception is TimeoutException or OperationCanceledException or RequestTimeoutException
            // The connection closing under a read ends it with an end of stream or an I/O error.
            || (underConnectionFailure && exception is IOException);
    }

    private static bool IsConnectionFailure(Exception exception) => exception
        is SocketException
        or BrokerUnreachableException
        or ConnectFailureException
        or OperationInterruptedException { ShutdownReason: null or { ReplyCode: ConnectionForced } or { Initiator: ShutdownInitiator.Library } }
        or ConnectionException
        or TransportUnavailableException
        or DbException { IsTransient: true }
        || (exception is DbException { SqlState: { } state } && DatabaseRestartStates.Contains(state));

    private static void Describe(Exception exception, StringBuilder summary, ref int budget)
    {
        if (--budget < 0)
        {
            summary.Append('…');
            return;
        }

        summary.Append(exception.GetType().FullName);

        if (exception is AggregateException { InnerExceptions.Count: > 0 } aggregate)
        {
            // An aggregate's own message repeats its inner ones.
            summary.Append(" ---> [");
            for (var index = 0; index < aggregate.InnerExceptions.Count; index++)
            {
                summary.Append(index > 0 ? "; " : "");
                if (budget <= 0)
                {
                    summary.Append('…');
                    break;
                }

                Describe(aggregate.InnerExceptions[index], summary, ref budget);
            }

            summary.Append(']');
            return;
        }

        summary.Append(": ").Append(MessageOf(exception));
        if (exception.InnerException is { } inner)
        {
            summary.Append(" ---> ");
            Describe(inner, summary, ref budget);
        }
    }

    private static string MessageOf(Exception exception)
    {
        try
        {
            return exception.Message?.ReplaceLineEndings(" ") ?? "";
        }
        catch (Exception unreadable) when (unreadable is not OutOfMemoryException)
        {
            // A logging call must not throw to its caller for an exception type's broken Message.
            return "(message unreadable)";
        }
    }
}
