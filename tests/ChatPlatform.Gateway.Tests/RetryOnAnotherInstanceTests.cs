using ChatPlatform.Gateway.Proxying;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace ChatPlatform.Gateway.Tests;

public class RetryOnAnotherInstanceTests
{
    private sealed record ForwarderFailure(ForwarderError Error) : IForwarderErrorFeature
    {
        public Exception? Exception => null;
    }

    private static DefaultHttpContext Failed(string method, ForwarderError error)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Features.Set<IForwarderErrorFeature>(new ForwarderFailure(error));
        return context;
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public void A_read_whose_instance_could_not_be_reached_goes_to_another(string method) =>
        RetryOnAnotherInstance.CanRetry(Failed(method, ForwarderError.Request)).ShouldBeTrue();

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public void A_request_that_may_change_something_is_not_sent_twice(string method) =>
        RetryOnAnotherInstance.CanRetry(Failed(method, ForwarderError.Request)).ShouldBeFalse();

    [Theory]
    [InlineData(ForwarderError.RequestTimedOut)]
    [InlineData(ForwarderError.ResponseBodyDestination)]
    [InlineData(ForwarderError.UpgradeResponseDestination)]
    public void A_failure_after_the_instance_answered_or_a_timeout_is_not_retried(ForwarderError error) =>
        RetryOnAnotherInstance.CanRetry(Failed("GET", error)).ShouldBeFalse();

    private sealed record ExtendedConnect(bool IsExtendedConnect) : IHttpExtendedConnectFeature
    {
        public string? Protocol => IsExtendedConnect ? "websocket" : null;

        public ValueTask<Stream> AcceptAsync() => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void An_http2_websocket_upgrade_is_retried_and_a_plain_connect_is_not(bool isExtendedConnect, bool retried)
    {
        var context = Failed("CONNECT", ForwarderError.Request);
        context.Features.Set<IHttpExtendedConnectFeature>(new ExtendedConnect(isExtendedConnect));

        RetryOnAnotherInstance.CanRetry(context).ShouldBe(retried);
    }

    [Fact]
    public void A_request_that_was_proxied_without_error_is_not_retried() =>
        RetryOnAnotherInstance.CanRetry(new DefaultHttpContext { Request = { Method = "GET" } }).ShouldBeFalse();
}
