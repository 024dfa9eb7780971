using ChatPlatform.Gateway;
using ChatPlatform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddGateway();

var app = builder.Build();
app.UseGateway();
app.UseServiceDefaults();
app.MapDefaultEndpoints();
app.MapGateway();
app.Run();
