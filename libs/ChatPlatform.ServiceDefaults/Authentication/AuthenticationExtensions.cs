using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace ChatPlatform.ServiceDefaults.Authentication;

public static class AuthenticationExtensions
{
    /// <summary>Paths where browsers cannot send an Authorization header, so the token comes as <c>access_token</c>.</summary>
    public static readonly PathString WebSocketPaths = "/ws";

    public static IHostApplicationBuilder AddChatAuthentication(this IHostApplicationBuilder builder)
    {
        var environment = builder.Environment;
        builder.Services.AddOptions<ChatAuthOptions>()
            .BindConfiguration(ChatAuthOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ChatAuthOptions>>(new ExplainAuthProblem(environment));

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<ChatAuthOptions>>((jwt, auth) => Configure(jwt, auth.Value, environment.IsDevelopment()));
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>The validation every service runs: issuer, audience, lifetime, algorithms, skew; token from access_token on /ws.</summary>
    public static void Configure(JwtBearerOptions jwt, ChatAuthOptions auth, bool isDevelopment)
    {
        var key = auth.EffectiveSigningKey(isDevelopment);
        // Keep "sub" and "rooms" as they are in the token rather than mapping them to long WS-* claim types.
        jwt.MapInboundClaims = false;
        jwt.IncludeErrorDetails = isDevelopment;
        if (auth.Authority.Length > 0)
        {
            jwt.Authority = auth.Authority;
            jwt.RequireHttpsMetadata = auth.RequireHttpsMetadata;
        }

        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = auth.Issuer,
            ValidateAudience = true,
            ValidAudience = auth.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            IssuerSigningKey = key.Length > 0 ? new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)) : null,
            ValidAlgorithms = auth.EffectiveAlgorithms(isDevelopment),
            ClockSkew = auth.ClockSkew,
            NameClaimType = ChatUser.UserClaim,
        };
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                if (context.Request.Path.StartsWithSegments(WebSocketPaths))
                {
                    context.Token = AccessToken(context.Request.QueryString);
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                context.Principal = ChatUser.Compact(context.Principal!);
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>
    /// The <c>access_token</c> of a query string, read without <see cref="HttpRequest.Query"/>: that parses every
    /// parameter into a dictionary the request keeps, and a WebSocket keeps its request for as long as it is open.
    /// The name must be exactly <c>access_token</c>, as every client writes it; of several, the first one counts.
    /// </summary>
    internal static string? AccessToken(QueryString query)
    {
        foreach (var parameter in new QueryStringEnumerable(query.Value))
        {
            if (parameter.EncodedName.Span is "access_token")
            {
                return parameter.DecodeValue().ToString();
            }
        }

        return null;
    }

    /// <summary>Refuses, at start, options that cannot run in this environment (a dev key in Production, no key at all).</summary>
    private sealed class ExplainAuthProblem(IHostEnvironment environment) : IValidateOptions<ChatAuthOptions>
    {
        public ValidateOptionsResult Validate(string? name, ChatAuthOptions options)
        {
            var problem = options.Problem(environment.IsDevelopment(), environment.IsProduction());
            return problem is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problem);
        }
    }
}
