using ChatPlatform.ServiceDefaults.Hosting;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace ChatPlatform.ServiceDefaults.Messaging;

/// <summary>
/// One long-lived, self-recovering connection to the service's broker for the readiness check. MassTransit's
/// own bus check only watches receive endpoints, so a service that only publishes would look ready with the
/// broker down; opening a channel on this connection fails as soon as the broker is unreachable.
/// </summary>
internal sealed class BrokerHealthConnection(IOptions<MessagingOptions> messaging, IOptions<ServiceIdentity> identity) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private Task<IConnection>? _connection;

    public Task<IConnection> GetAsync()
    {
        lock (_gate)
        {
            if (_connection is null || _connection.IsFaulted || _connection.IsCanceled)
            {
                _connection = new ConnectionFactory
                {
                    Uri = new Uri(messaging.Value.ConnectionString),
                    AutomaticRecoveryEnabled = true,
                    NetworkRecoveryInterval = TimeSpan.FromSeconds(2),
                    RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
                    ClientProvidedName = $"{identity.Value.InstanceId} health",
                }.CreateConnectionAsync();
            }

            return _connection;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { IsCompletedSuccessfully: true } connection)
        {
            await connection.Result.DisposeAsync();
        }
    }
}
