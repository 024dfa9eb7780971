using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace ChatPlatform.Delivery.Storage;

/// <summary>Lets `dotnet ef migrations add` build the model without starting the service (and its broker connection).</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<ChatDbContext>
{
    public ChatDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<ChatDbContext>().UseNpgsql("Host=127.0.0.1;Database=chatplatform").Options);
}
