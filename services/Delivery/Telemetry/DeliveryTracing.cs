using System.Diagnostics;

namespace ChatPlatform.Delivery.Telemetry;

/// <summary>
/// Delivery's spans of a chat message's trace: <c>chat.store</c> (one message stored with its outbox row) and
/// <c>chat.outbox.dispatch</c> (one round of outbox rows published). Recorded only when traces are exported.
/// </summary>
public static class DeliveryTracing
{
    public const string Store = "chat.store";
    public const string Dispatch = "chat.outbox.dispatch";

    public static readonly ActivitySource Source = new(DeliveryMetrics.MeterName);
}
