using ChatPlatform.ServiceDefaults;
using ChatPlatform.Signaling;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddSignaling();

var app = builder.Build();
app.UseServiceDefaults();
app.MapDefaultEndpoints();
app.MapSignaling();
app.Run();
