using System.Text.Json;
using ChatPlatform.Contracts;

namespace ChatPlatform.Delivery.Outbox;

/// <summary>
/// An event waiting to be published, written in the same transaction as the change it announces, so that a
/// committed change is always announced and an announced change is always committed.
/// </summary>
public sealed class OutboxMessage
{
    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);

    // Only contracts may leave through the outbox; the type name in a row is never trusted beyond this list.
    private static readonly Dictionary<string, Type> PublishableTypes = new[]
    {
        typeof(MessageStored), typeof(MessageRejected), typeof(ReceiptUpdated),
    }.ToDictionary(type => type.FullName!, StringComparer.Ordinal);

    public long Id { get; set; }

    public required string MessageType { get; set; }

    public required string Payload { get; set; }

    /// <summary>
    /// Taken before the statement that writes the row, so that a row is never claimable earlier than its hand-off
    /// allows (see <see cref="DeliveryOptions.OutboxClaimDelay"/>).
    /// </summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>
    /// When the statement that wrote the row returned committed, for a row handed over in this process; not stored.
    /// A row read back from the table has only <see cref="CreatedAt"/>.
    /// </summary>
    public DateTimeOffset? CommittedAt { get; set; }

    public static OutboxMessage For<T>(T message, DateTimeOffset now)
        where T : class =>
        PublishableTypes.ContainsKey(typeof(T).FullName!)
            ? new OutboxMessage
            {
                MessageType = typeof(T).FullName!,
                Payload = JsonSerializer.Serialize(message, SerializerOptions),
                CreatedAt = now,
            }
            : throw new ArgumentException($"{typeof(T)} is not published through the outbox.", nameof(message));

    /// <summary>The type name a row of <typeparamref name="T"/> carries, for rows written in SQL.</summary>
    public static string TypeName<T>()
        where T : class =>
        PublishableTypes.ContainsKey(typeof(T).FullName!) ? typeof(T).FullName! : throw new ArgumentException($"{typeof(T)} is not published through the outbox.");

    /// <summary>The contract this row carries, and its type for <c>Publish(object, Type)</c>.</summary>
    public (object Message, Type Type) Read()
    {
        var type = PublishableTypes.GetValueOrDefault(MessageType)
                   ?? throw new InvalidOperationException($"Outbox row {Id} has unknown type {MessageType}.");
        return (JsonSerializer.Deserialize(Payload, type, SerializerOptions)!, type);
    }
}
