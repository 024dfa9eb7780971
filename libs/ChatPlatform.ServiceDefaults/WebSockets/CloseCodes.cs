namespace ChatPlatform.ServiceDefaults.WebSockets;

/// <summary>The close codes clients see (RFC 6455 §7.4.1), named for what they mean here.</summary>
public static class CloseCodes
{
    /// <summary>1001: the server is shutting down; reconnect (to another instance).</summary>
    public const int GoingAway = 1001;

    /// <summary>1003: a binary frame; the protocol is JSON text.</summary>
    public const int UnsupportedData = 1003;

    /// <summary>1008: a policy was broken (rate limit kept being exceeded, send queue overflow).</summary>
    public const int PolicyViolation = 1008;

    /// <summary>1009: a message larger than the frame limit.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>1011: an unexpected server error.</summary>
    public const int InternalError = 1011;

    /// <summary>1013: the server holds too much for this client (it stopped acknowledging); reconnect and resume.</summary>
    public const int TryAgainLater = 1013;
}
