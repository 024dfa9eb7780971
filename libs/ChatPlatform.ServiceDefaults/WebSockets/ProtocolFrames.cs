using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Serialization;

namespace ChatPlatform.ServiceDefaults.WebSockets;

/// <summary>A frame the server sends. <see cref="Type"/> is written first, as the protocol says.</summary>
public abstract record ServerFrame([property: JsonPropertyOrder(-1)] string Type)
{
    /// <summary>The frame as it goes on the wire (UTF-8 JSON, camelCase, type first).</summary>
    public static byte[] Serialize(ServerFrame frame) =>
        JsonSerializer.SerializeToUtf8Bytes(frame, frame.GetType(), ClientFrame.SerializerOptions);
}

public sealed record PongFrame() : ServerFrame("pong");

/// <param name="Code">invalid, forbidden, too-large, rate-limited, id-conflict, unavailable, unknown-peer.</param>
/// <param name="Message">For people: what was wrong.</param>
/// <param name="Ref">The offending frame's id, or its type when it has no id.</param>
/// <param name="RoomId">The room the refused frame was about, where its type alone does not tell (a subscribe).</param>
public sealed record ErrorFrame(string Code, string Message, string? Ref = null, string? RoomId = null) : ServerFrame("error");

public static class ErrorCodes
{
    public const string Invalid = "invalid";
    public const string Forbidden = "forbidden";
    public const string TooLarge = "too-large";
    public const string RateLimited = "rate-limited";
    public const string IdConflict = "id-conflict";
    public const string Unavailable = "unavailable";
    public const string UnknownPeer = "unknown-peer";
}

/// <summary>The one rule for room ids, everywhere: 1-64 of A-Z a-z 0-9 _ . - (safe in URLs, logs and queue names).</summary>
public static partial class RoomIds
{
    public const int MaxLength = 64;
    public const string Rule = "1-64 characters of A-Z a-z 0-9 _ . -";

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex Pattern();

    public static bool IsValid([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? roomId) => roomId is not null && Pattern().IsMatch(roomId);
}

/// <summary>One JSON object the client sent, with its <c>type</c> read out.</summary>
public readonly record struct ClientFrame(string Type, JsonElement Root)
{
    public static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Parses a text frame; a frame that is not a JSON object with a string "type" gets an error frame.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> utf8, out ClientFrame frame, out ErrorFrame? error)
    {
        frame = default;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            error = new ErrorFrame(ErrorCodes.Invalid, "The frame is not valid JSON.");
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = new ErrorFrame(ErrorCodes.Invalid, "A frame must be a JSON object.");
                return false;
            }

            if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                || string.IsNullOrEmpty(type.GetString()))
            {
                error = new ErrorFrame(ErrorCodes.Invalid, "A frame needs a string \"type\".");
                return false;
            }

            // Clone so the frame outlives the pooled document.
            frame = new ClientFrame(type.GetString()!, root.Clone());
            error = null;
            return true;
        }
    }

    public string? GetString(string property) =>
        Root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The reference an error frame names: the frame's id when it has one, else its type.</summary>
    public string Reference => GetString("id") is { Length: > 0 and <= 64 } id ? id : Type;
}
