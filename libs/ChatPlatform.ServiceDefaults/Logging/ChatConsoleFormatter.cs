using System.Data.Common;
using System.Net.Sockets;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;

namespace ChatPlatform.ServiceDefaults.Logging;

/// <summary>
/// One line per entry, like the simple console formatter with SingleLine, except for the failures every service
/// sees while RabbitMQ or PostgreSQL is away (a refused or closed connection, a timeout): those are written as their
/// chain of messages without the stack trace. While the broker is down MassTransit logs every reconnect try and the
/// health checks log every probe, each with a stack trace of about 11 KB that says nothing the first line does not.
/// </summary>
internal sealed class ChatConsoleFormatter : ConsoleFormatter, IDisposable
{
    public const string FormatterName = "chat";

    private readonly IDisposable? _reload;
    private ConsoleFormatterOptions _options;

    public ChatConsoleFormatter(IOptionsMonitor<ConsoleFormatterOptions> options)
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
        if (options.TimestampFormat is { } timestampFormat)
        {
            var now = options.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now;
            textWriter.Write(now.ToString(timestampFormat, System.Globalization.CultureInfo.InvariantCulture));
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

    private static string OneLine(string text) =>
        text.Contains('\n', StringComparison.Ordinal) ? text.ReplaceLineEndings(" ") : text;
}

/// <summary>The failures a service expects while a dependency is away, and how to say them in one line.</summary>
internal static class ExpectedFailure
{
    /// <summary>
    /// True when the exception, or one inside it, is a lost or refused connection (a socket error, RabbitMQ closing
    /// or not reachable, a transient database error) or a wait that ran out. Their stack traces show where the wait
    /// was, not why it failed, and the why is in the messages.
    /// </summary>
    public static bool IsExpected(Exception exception) => Chain(exception).Any(static inner => inner
        is SocketException
        or BrokerUnreachableException
        or AlreadyClosedException
        or ConnectFailureException
        or ConnectionException
        or TimeoutException
        or OperationCanceledException
        or DbException { IsTransient: true });

    /// <summary>"Type: message ---> Type: message …" for the exception and the ones inside it.</summary>
    public static string Summary(Exception exception) =>
        string.Join(" ---> ", Chain(exception).Select(static inner => $"{inner.GetType().FullName}: {inner.Message.ReplaceLineEndings(" ")}"));

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        var pending = new Stack<Exception>();
        pending.Push(exception);
        var seen = 0;
        // A bound, because an exception graph is built by whoever threw it.
        while (pending.Count > 0 && seen++ < 32)
        {
            var current = pending.Pop();
            yield return current;
            if (current is AggregateException aggregate)
            {
                for (var index = aggregate.InnerExceptions.Count - 1; index >= 0; index--)
                {
                    pending.Push(aggregate.InnerExceptions[index]);
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }
}
