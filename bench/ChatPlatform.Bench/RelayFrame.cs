using System.Text.Json;

namespace ChatPlatform.Bench;

/// <summary>
/// The fields of a relay server frame that the bench reads. Parsed straight from the socket's buffer without a DOM:
/// at tens of thousands of deliveries a second the bench's own parsing must not become what it measures.
/// </summary>
internal readonly record struct RelayFrame(
    string? Type, Guid Id, string? RoomId, long Seq, long LastSeq, string? Code, string? Message, string? Reference)
{
    public static RelayFrame Parse(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A frame is a JSON object.");
        }

        var frame = new RelayFrame();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                frame = frame with { Type = ReadString(ref reader) };
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                frame = frame with { Id = Guid.TryParse(ReadString(ref reader), out var id) ? id : Guid.Empty };
            }
            else if (reader.ValueTextEquals("roomId"u8))
            {
                frame = frame with { RoomId = ReadString(ref reader) };
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                frame = frame with { Seq = ReadNumber(ref reader) };
            }
            else if (reader.ValueTextEquals("lastSeq"u8))
            {
                frame = frame with { LastSeq = ReadNumber(ref reader) };
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                frame = frame with { Code = ReadString(ref reader) };
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                frame = frame with { Message = ReadString(ref reader) };
            }
            else if (reader.ValueTextEquals("ref"u8))
            {
                frame = frame with { Reference = ReadString(ref reader) };
            }
            else
            {
                reader.Skip();
            }
        }

        return frame;
    }

    /// <summary>A string value, or null for anything else (which is skipped whole).</summary>
    private static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        reader.Skip();
        return null;
    }

    /// <summary>An integer value, or -1 for anything else, which no seq can be.</summary>
    private static long ReadNumber(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number))
        {
            return number;
        }

        reader.Skip();
        return -1;
    }
}
