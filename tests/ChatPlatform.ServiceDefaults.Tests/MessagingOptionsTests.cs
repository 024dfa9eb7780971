using ChatPlatform.ServiceDefaults.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChatPlatform.ServiceDefaults.Tests;

public class MessagingOptionsTests
{
    [Fact]
    public void A_first_reconnect_wait_longer_than_the_cap_is_refused()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Messaging:ReconnectDelay"] = "00:00:10",
            ["Messaging:MaxReconnectDelay"] = "00:00:01",
        });
        builder.AddChatMessaging();
        using var host = builder.Build();

        var refusal = Should.Throw<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<MessagingOptions>>().Value);

        refusal.Message.ShouldContain("Messaging:ReconnectDelay");
    }
}
