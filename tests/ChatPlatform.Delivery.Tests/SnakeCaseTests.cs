using ChatPlatform.Delivery.Storage;

namespace ChatPlatform.Delivery.Tests;

public class SnakeCaseTests
{
    [Theory]
    [InlineData("RoomId", "room_id")]
    [InlineData("Seq", "seq")]
    [InlineData("LastSeq", "last_seq")]
    [InlineData("PK_Messages", "pk_messages")]
    [InlineData("IX_Messages_RoomId_Seq", "ix_messages_room_id_seq")]
    public void Names_become_postgres_snake_case(string name, string expected) =>
        ChatDbContext.SnakeCase(name).ShouldBe(expected);
}
