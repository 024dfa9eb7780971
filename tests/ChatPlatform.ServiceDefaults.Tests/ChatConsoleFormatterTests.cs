using System.Data.Common;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ChatPlatform.ServiceDefaults.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using RabbitMQ.Client.Exceptions;

namespace ChatPlatform.ServiceDefaults.Tests;

public class ChatConsoleFormatterTests
{
    [Fact]
    public void A_refused_broker_connection_is_one_line_of_messages_and_where_it_was_thrown()
    {
        var refused = Thrown(() => throw new BrokerUnreachableException(
            new AggregateException(new ConnectFailureException("Connection failed, host 127.0.0.1:5672", new SocketException((int)SocketError.ConnectionRefused)))));

        var line = Format(LogLevel.Warning, "MassTransit", "Connection Failed: rabbitmq://127.0.0.1/", refused);

        line.ShouldStartWith("12:34:56.789 warn: MassTransit[0] Connection Failed: rabbitmq://127.0.0.1/ (RabbitMQ.Client.Exceptions.BrokerUnreachableException: ");
        line.ShouldContain(" ---> System.AggregateException ---> [RabbitMQ.Client.Exceptions.ConnectFailureException: Connection failed, host 127.0.0.1:5672 ---> System.Net.Sockets.SocketException: Connection refused] at ");
        line.ShouldContain(nameof(Thrown));
        // Only the first frame of the stack trace.
        Regex.Count(line, " at ").ShouldBe(1);
        line.Count(character => character == '\n').ShouldBe(1);
        line.Length.ShouldBeLessThan(1_000, "against about 11 KB with the whole stack trace");
    }

    [Fact]
    public void An_unexpected_exception_keeps_its_stack_trace_on_the_same_line()
    {
        var bug = Thrown(() => throw new InvalidOperationException("a defect"));

        var line = Format(LogLevel.Error, "ChatPlatform.Relay", "Frame handling failed", bug);

        line.ShouldStartWith("12:34:56.789 fail: ChatPlatform.Relay[0] Frame handling failed System.InvalidOperationException: a defect    at ");
        line.ShouldContain(nameof(An_unexpected_exception_keeps_its_stack_trace_on_the_same_line));
        line.Count(character => character == '\n').ShouldBe(1);
    }

    [Fact]
    public void A_message_of_several_lines_is_written_on_one()
    {
        var line = Format(LogLevel.Information, "ChatPlatform.Delivery", "first\nsecond\r\nthird", exception: null);

        line.ShouldBe("12:34:56.789 info: ChatPlatform.Delivery[0] first second third" + Environment.NewLine);
    }

    [Fact]
    public void Lost_connections_timeouts_and_database_restarts_are_expected_and_defects_are_not()
    {
        var forced = new RabbitMQ.Client.Events.ShutdownEventArgs(RabbitMQ.Client.ShutdownInitiator.Peer, 320, "CONNECTION_FORCED");
        ExpectedFailure.IsExpected(new AlreadyClosedException(forced)).ShouldBeTrue();
        ExpectedFailure.IsExpected(new OperationInterruptedException(forced)).ShouldBeTrue();
        ExpectedFailure.IsExpected(new MassTransit.RabbitMqConnectionException("Broker unreachable")).ShouldBeTrue();
        ExpectedFailure.IsExpected(new TaskCanceledException()).ShouldBeTrue();
        ExpectedFailure.IsExpected(new TimeoutException()).ShouldBeTrue();
        ExpectedFailure.IsExpected(new DatabaseError(transient: true)).ShouldBeTrue();
        ExpectedFailure.IsExpected(new DatabaseError(transient: false, sqlState: "57P01")).ShouldBeTrue();
        ExpectedFailure.IsExpected(new InvalidOperationException("likely a transient failure", new SocketException((int)SocketError.ConnectionReset))).ShouldBeTrue();
        // A read ended by the connection closing under it.
        ExpectedFailure.IsExpected(new MassTransit.RabbitMqConnectionException("Connection lost", new EndOfStreamException())).ShouldBeTrue();

        ExpectedFailure.IsExpected(new DatabaseError(transient: false, sqlState: "23505")).ShouldBeFalse();
        // A channel error is a configuration defect, not the broker going away.
        ExpectedFailure.IsExpected(new OperationInterruptedException(
            new RabbitMQ.Client.Events.ShutdownEventArgs(RabbitMQ.Client.ShutdownInitiator.Peer, 406, "PRECONDITION_FAILED"))).ShouldBeFalse();
        ExpectedFailure.IsExpected(new InvalidOperationException("a defect")).ShouldBeFalse();
        ExpectedFailure.IsExpected(new EndOfStreamException("a truncated file")).ShouldBeFalse();
        ExpectedFailure.IsExpected(new AggregateException(new ArgumentException("a"), new FormatException("b"))).ShouldBeFalse();
        // One defect among expected failures keeps the whole stack trace.
        ExpectedFailure.IsExpected(new AggregateException(new ArgumentNullException("id"), new TaskCanceledException())).ShouldBeFalse();
    }

    [Fact]
    public void The_frame_given_is_the_first_outside_dotnet_not_the_throw_helper()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var summary = ExpectedFailure.Summary(Thrown(() => cancelled.Token.ThrowIfCancellationRequested()));

        summary.ShouldStartWith("System.OperationCanceledException: The operation was canceled. at ChatPlatform.ServiceDefaults.Tests.");
        summary.ShouldNotContain("ThrowOperationCanceledException");
    }

    [Fact]
    public void A_summary_of_a_very_wide_exception_stays_bounded()
    {
        var wide = new AggregateException(Enumerable.Range(0, 1_000).Select(index => new TimeoutException($"wait {index}")));

        var summary = ExpectedFailure.Summary(wide);

        summary.Length.ShouldBeLessThan(3_000);
        summary.ShouldEndWith("; …]");
    }

    [Fact]
    public void An_exception_whose_message_cannot_be_read_is_still_summarized()
    {
        ExpectedFailure.Summary(new UnreadableTimeout()).ShouldBe($"{typeof(UnreadableTimeout).FullName}: (message unreadable)");
    }

    [Fact]
    public void Services_log_with_it_unless_their_configuration_names_another_formatter()
    {
        FormatterOf(configuration: []).ShouldBe(ChatConsoleFormatter.FormatterName);
        FormatterOf(new() { ["Logging:Console:FormatterName"] = "json" }).ShouldBe("json");
    }

    private static string FormatterOf(Dictionary<string, string?> configuration)
    {
        // No environment variables or appsettings: only what the test gives, bound to logging as the host's defaults do.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.AddServiceDefaults();
        using var host = builder.Build();
        host.Services.GetServices<ConsoleFormatter>().ShouldContain(formatter => formatter.Name == ChatConsoleFormatter.FormatterName);
        return host.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName.ShouldNotBeNull();
    }

    private static string Format(LogLevel level, string category, string message, Exception? exception)
    {
        // A fixed format with no clock in it, so the line can be compared whole.
        var options = new StaticOptions(new ChatConsoleFormatterOptions { TimestampFormat = "'12:34:56.789 '" });
        using var formatter = new ChatConsoleFormatter(options);
        using var writer = new StringWriter();
        formatter.Write(new LogEntry<string>(level, category, new EventId(0), message, exception, static (state, _) => state), scopeProvider: null, writer);
        return writer.ToString();
    }

    private static Exception Thrown(Action action)
    {
        try
        {
            action();
        }
        catch (Exception exception)
        {
            return exception;
        }

        throw new InvalidOperationException("nothing was thrown");
    }

    private sealed class DatabaseError(bool transient, string? sqlState = null) : DbException("the database")
    {
        public override bool IsTransient => transient;

        public override string? SqlState => sqlState;
    }

    private sealed class UnreadableTimeout : TimeoutException
    {
        public override string Message => throw new InvalidOperationException("no message");
    }

    private sealed class StaticOptions(ChatConsoleFormatterOptions value) : IOptionsMonitor<ChatConsoleFormatterOptions>
    {
        public ChatConsoleFormatterOptions CurrentValue => value;

        public ChatConsoleFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<ChatConsoleFormatterOptions, string?> listener) => null;
    }
}
