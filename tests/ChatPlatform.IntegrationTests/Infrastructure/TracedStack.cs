namespace ChatPlatform.IntegrationTests.Infrastructure;

/// <summary>
/// A stack of its own whose services export traces to an <see cref="OtlpReceiver"/> in the test. The shared stack
/// keeps tracing off, as production does without an OTLP endpoint; one instance of each service keeps this one quick.
/// </summary>
public sealed class TracedStack : IAsyncLifetime
{
    public OtlpReceiver Receiver { get; private set; } = null!;

    public ChatStack Stack { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync();
        Stack = new ChatStack(secondInstances: false, Receiver.ExporterSettings);
        await Stack.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Stack is not null)
        {
            await Stack.DisposeAsync();
        }

        if (Receiver is not null)
        {
            await Receiver.DisposeAsync();
        }
    }
}
