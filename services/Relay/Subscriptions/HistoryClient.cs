using System.Collections.Concurrent;
using ChatPlatform.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Relay.Subscriptions;

/// <summary>
/// Asks Delivery for stored messages over the broker (request/response), so that any Delivery instance can answer
/// and the relay needs neither Delivery's addresses nor a token of its own.
/// </summary>
public sealed class HistoryClient(IBus bus, IOptions<RelayOptions> options) : IDisposable
{
    private readonly IRequestClient<HistoryRequested> _client =
        bus.CreateRequestClient<HistoryRequested>(RequestTimeout.After(ms: (int)options.Value.HistoryTimeout.TotalMilliseconds));

    private readonly SemaphoreSlim _slots = new(options.Value.HistoryConcurrency);

    // Subscribers of one room usually miss the same seqs at the same moment: they share one request.
    private readonly ConcurrentDictionary<HistoryRequested, Lazy<Task<RoomHistory>>> _inFlight = new();

    /// <summary>Up to <paramref name="limit"/> (default: a page) stored messages of the room after <paramref name="afterSeq"/>.</summary>
    public async Task<RoomHistory> GetAsync(string roomId, long afterSeq, CancellationToken cancellationToken, int? limit = null)
    {
        var request = new HistoryRequested(roomId, afterSeq, Math.Min(limit ?? PageSize, PageSize));
        var shared = _inFlight.GetOrAdd(request, key => new Lazy<Task<RoomHistory>>(() => RequestAsync(key)));
        return await shared.Value.WaitAsync(cancellationToken);
    }

    private async Task<RoomHistory> RequestAsync(HistoryRequested request)
    {
        try
        {
            // Not tied to one caller's cancellation: others may be waiting for the same answer.
            // A turn that does not come within the request timeout fails like the request would: the caller retries.
            if (!await _slots.WaitAsync(options.Value.HistoryTimeout))
            {
                throw new RequestTimeoutException($"no history request slot within {options.Value.HistoryTimeout}");
            }

            try
            {
                var response = await _client.GetResponse<RoomHistory>(request);
                return response.Message;
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            // The answer is shared while it is awaited, never cached: the next request reads storage again.
            _inFlight.TryRemove(request, out _);
        }
    }

    public int PageSize => options.Value.HistoryPageSize;

    public void Dispose() => _slots.Dispose();
}
