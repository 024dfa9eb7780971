using ChatPlatform.Gateway.Proxying;
using ChatPlatform.ServiceDefaults.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ChatPlatform.Gateway.Tests;

public class ProxiedWebSocketsTests
{
    [Theory]
    [InlineData(StatusCodes.Status401Unauthorized)]
    [InlineData(StatusCodes.Status403Forbidden)]
    [InlineData(StatusCodes.Status429TooManyRequests)]
    public void An_upgrade_the_gateway_answers_itself_with_a_4xx_counts_as_refused(int status) =>
        ProxiedWebSockets.ResultOf(status).ShouldBe(ConnectionResults.Refused);

    [Theory]
    [InlineData(StatusCodes.Status502BadGateway)]
    [InlineData(StatusCodes.Status503ServiceUnavailable)]
    public void An_upgrade_no_instance_could_take_counts_as_failed(int status) =>
        ProxiedWebSockets.ResultOf(status).ShouldBe(ConnectionResults.Failed);

    [Fact]
    public void A_socket_is_established_by_a_101_or_by_a_200_to_an_HTTP2_extended_connect()
    {
        Established(StatusCodes.Status101SwitchingProtocols, extendedConnect: false).ShouldBeTrue();
        Established(StatusCodes.Status200OK, extendedConnect: true).ShouldBeTrue();
        Established(StatusCodes.Status200OK, extendedConnect: false).ShouldBeFalse();
        Established(StatusCodes.Status403Forbidden, extendedConnect: true).ShouldBeFalse();
    }

    private static bool Established(int status, bool extendedConnect)
    {
        var context = new DefaultHttpContext();
        context.Response.StatusCode = status;
        if (extendedConnect)
        {
            context.Features.Set<IHttpExtendedConnectFeature>(new ExtendedConnect());
        }

        return ProxiedWebSockets.IsEstablished(context);
    }

    private sealed class ExtendedConnect : IHttpExtendedConnectFeature
    {
        public bool IsExtendedConnect => true;

        public string? Protocol => "websocket";

        public ValueTask<Stream> AcceptAsync() => throw new NotSupportedException();
    }
}
