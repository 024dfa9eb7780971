using System.Text.Json;
using ChatPlatform.ServiceDefaults.Authentication;
using ChatPlatform.ServiceDefaults.WebSockets;

namespace ChatPlatform.Relay.Messages;

/// <summary>A <c>send</c> frame that passed every check: its fields are safe to publish.</summary>
internal sealed record SendRequest(Guid Id, string RoomId, string Text, DateTimeOffset SentAt)
{
    /// <summary>Checks a send frame field by field; the first problem becomes the error frame.</summary>
    public static bool TryRead(
        ClientFrame frame, ChatUser user, RelayOptions options, DateTimeOffset now,
        out SendRequest request, out ErrorFrame error)
    {
        request = null!;
        var reference = frame.Reference;
        error = new ErrorFrame(ErrorCodes.Invalid, "", reference);

        if (!Guid.TryParse(frame.GetString("id"), out var id) || id == Guid.Empty)
        {
            error = error with { Message = "\"id\" must be a UUID made by the client." };
            return false;
        }

        var roomId = frame.GetString("roomId");
        if (!RoomIds.IsValid(roomId))
        {
            error = error with { Message = $"\"roomId\" must be {RoomIds.Rule}." };
            return false;
        }

        if (!user.CanUse(roomId))
        {
            error = new ErrorFrame(ErrorCodes.Forbidden, $"The token does not grant room \"{roomId}\".", reference);
            return false;
        }

        var text = frame.GetString("text");
        if (string.IsNullOrWhiteSpace(text))
        {
            error = error with { Message = "\"text\" must be a non-empty string." };
            return false;
        }

        if (text.Length > options.MaxTextLength)
        {
            error = new ErrorFrame(ErrorCodes.TooLarge, $"\"text\" is longer than {options.MaxTextLength} characters.", reference);
            return false;
        }

        if (!frame.Root.TryGetProperty("sentAt", out var sentAtElement)
            || sentAtElement.ValueKind != JsonValueKind.Number
            || !sentAtElement.TryGetInt64(out var sentAtMilliseconds)
            || Math.Abs(sentAtMilliseconds - now.ToUnixTimeMilliseconds()) > options.MaxClockSkew.TotalMilliseconds)
        {
            error = error with { Message = "\"sentAt\" must be the client's clock in Unix milliseconds, near the server's." };
            return false;
        }

        request = new SendRequest(id, roomId, text, DateTimeOffset.FromUnixTimeMilliseconds(sentAtMilliseconds));
        return true;
    }
}
