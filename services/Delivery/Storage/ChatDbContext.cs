using System.Text;
using ChatPlatform.Delivery.Outbox;
using Microsoft.EntityFrameworkCore;

namespace ChatPlatform.Delivery.Storage;

public sealed class ChatDbContext(DbContextOptions<ChatDbContext> options) : DbContext(options)
{
    public DbSet<StoredMessage> Messages => Set<StoredMessage>();

    public DbSet<RoomSequence> RoomSequences => Set<RoomSequence>();

    public DbSet<MemberCursor> Cursors => Set<MemberCursor>();

    public DbSet<OutboxMessage> Outbox => Set<OutboxMessage>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<StoredMessage>(message =>
        {
            message.ToTable("messages");
            message.HasKey(m => m.Id);
            message.Property(m => m.RoomId).HasMaxLength(64);
            message.Property(m => m.Sender).HasMaxLength(64);
            message.Property(m => m.ClientId).HasMaxLength(80);
            message.Property(m => m.Text).HasMaxLength(4000);
            // History and resume read "room R after seq S"; the unique index is also the last guard against a gap being filled twice.
            message.HasIndex(m => new { m.RoomId, m.Seq }).IsUnique();
        });
        modelBuilder.Entity<RoomSequence>(sequence =>
        {
            sequence.ToTable("room_sequences");
            sequence.HasKey(s => s.RoomId);
            sequence.Property(s => s.RoomId).HasMaxLength(64);
        });
        modelBuilder.Entity<MemberCursor>(cursor =>
        {
            cursor.ToTable("member_cursors");
            cursor.HasKey(c => new { c.RoomId, c.UserName });
            cursor.Property(c => c.RoomId).HasMaxLength(64);
            cursor.Property(c => c.UserName).HasMaxLength(64);
        });
        modelBuilder.Entity<OutboxMessage>(outbox =>
        {
            outbox.ToTable("outbox_messages");
            outbox.HasKey(o => o.Id);
            outbox.Property(o => o.Id).UseIdentityAlwaysColumn();
            outbox.Property(o => o.MessageType).HasMaxLength(200);
            outbox.Property(o => o.Payload).HasColumnType("jsonb");
            outbox.Ignore(o => o.CommittedAt);
        });

        // PostgreSQL convention: snake_case names, so hand-written SQL and psql sessions read naturally.
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(SnakeCase(property.Name));
            }

            foreach (var key in entity.GetKeys())
            {
                key.SetName(SnakeCase(key.GetName()!));
            }

            foreach (var index in entity.GetIndexes())
            {
                index.SetDatabaseName(SnakeCase(index.GetDatabaseName()!));
            }
        }
    }

    internal static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var character = name[i];
            if (char.IsUpper(character))
            {
                if (i > 0 && name[i - 1] != '_' && !char.IsUpper(name[i - 1]))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(character));
            }
            else
            {
                builder.Append(character);
            }
        }

        return builder.ToString();
    }
}
