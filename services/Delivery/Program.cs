using ChatPlatform.Delivery;
using ChatPlatform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDelivery();

var app = builder.Build();
if (args is ["migrate", ..])
{
    await app.MigrateDatabaseAsync();
    return;
}

app.UseServiceDefaults();
app.MapDefaultEndpoints();
app.MapDelivery();
app.Run();
