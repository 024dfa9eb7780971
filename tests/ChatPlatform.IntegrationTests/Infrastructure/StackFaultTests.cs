namespace ChatPlatform.IntegrationTests.Infrastructure;

/// <summary>
/// Tests that restart or stop parts of the shared stack. After each of them, passed or failed, the next test (in
/// whatever order xUnit picks) starts on a stack whose every instance is ready again, with its queues back, not on
/// one still recovering from this test's fault.
/// </summary>
public abstract class StackFaultTests : IAsyncLifetime
{
    protected abstract ChatStack Stack { get; }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await Stack.WaitUntilEveryServiceIsReadyAsync();
        GC.SuppressFinalize(this);
    }
}
