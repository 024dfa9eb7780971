using ChatPlatform.Relay;
using ChatPlatform.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRelay();

var app = builder.Build();
app.UseServiceDefaults();
app.MapDefaultEndpoints();
app.MapRelay();
app.Run();
