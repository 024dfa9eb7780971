using System.Diagnostics;
using System.Security.Cryptography;
using ChatPlatform.ServiceDefaults.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChatPlatform.ServiceDefaults.WebSockets;

public static class WebSocketEndpoints
{
    /// <summary>Maps an authenticated WebSocket endpoint whose frames go to <typeparamref name="TProtocol"/>.</summary>
    public static IEndpointConventionBuilder MapChatWebSocket<TProtocol>(this IEndpointRouteBuilder endpoints, string pattern)
        where TProtocol : IChatProtocol =>
        endpoints.Map(pattern, AcceptAsync<TProtocol>).RequireAuthorization();

    private static async Task AcceptAsync<TProtocol>(
        HttpContext context,
        TProtocol protocol,
        ConnectionRegistry registry,
        IOptions<ChatWebSocketOptions> options,
        ILoggerFactory loggerFactory)
        where TProtocol : IChatProtocol
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            registry.CountAttempt(ConnectionResults.NotWebSocket);
            await Results.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "WebSocket upgrade expected",
                detail: "This endpoint only accepts WebSocket connections.").ExecuteAsync(context);
            return;
        }

        // RequireAuthorization guarantees a principal; a token without "sub" is still refused.
        if (ChatUser.From(context.User) is not { } user)
        {
            registry.CountAttempt(ConnectionResults.Failed);
            await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "The token has no subject.")
                .ExecuteAsync(context);
            return;
        }

        var limits = options.Value;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = limits.PingInterval,
            KeepAliveTimeout = limits.PongTimeout,
        });
        var logger = loggerFactory.CreateLogger("ChatPlatform.WebSockets");
        WebSocketSession session;
        do
        {
            session = new WebSocketSession(socket, user, NewClientId(user.Name), limits, logger)
            {
                ConnectionTrace = Activity.Current?.Context ?? default,
            };
        }
        while (!registry.TryAdd(session));

        registry.CountAttempt(ConnectionResults.Accepted);
        try
        {
            await protocol.OnConnectedAsync(session);
            await session.RunAsync(
                frame => HandleFrameAsync(protocol, session, frame),
                () => protocol.OnRejected(session, ErrorCodes.TooLarge));
        }
        finally
        {
            registry.Remove(session);
            await protocol.OnDisconnectedAsync(session);
            session.Dispose();
        }
    }

    private static ValueTask HandleFrameAsync(IChatProtocol protocol, WebSocketSession session, ReadOnlyMemory<byte> utf8)
    {
        if (!session.TryTakeFrameBudget())
        {
            protocol.OnRejected(session, ErrorCodes.RateLimited);
            session.Send(new ErrorFrame(ErrorCodes.RateLimited, "Too many frames; slow down."));
            return ValueTask.CompletedTask;
        }

        if (!ClientFrame.TryParse(utf8, out var frame, out var error))
        {
            protocol.OnRejected(session, error!.Code);
            session.Send(error);
            return ValueTask.CompletedTask;
        }

        if (frame.Type == "ping")
        {
            session.Send(new PongFrame());
            return ValueTask.CompletedTask;
        }

        return protocol.OnFrameAsync(session, frame);
    }

    /// <summary>The user name and a random suffix, e.g. alice~3fk2x9: readable in logs, unique per connection.</summary>
    internal static string NewClientId(string user)
    {
        const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
        Span<char> suffix = stackalloc char[6];
        for (var i = 0; i < suffix.Length; i++)
        {
            suffix[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        return $"{user}~{suffix}";
    }
}
