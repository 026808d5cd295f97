using System.Collections.Concurrent;
using PgArchive.Storage;

namespace PgArchive.Support;

/// <summary>A real in-memory store that records the order of successful puts, and of the objects opened for reading.</summary>
internal sealed class PutRecordingStore(InMemoryObjectStore inner) : IObjectStore
{
    public InMemoryObjectStore Inner => inner;

    public ConcurrentQueue<string> Puts { get; } = new();

    public ConcurrentQueue<string> Opens { get; } = new();

    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        await inner.PutAsync(key, content, mode, cancellationToken);
        Puts.Enqueue(key);
    }

    public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        Opens.Enqueue(key);
        return inner.OpenReadAsync(key, range, cancellationToken);
    }

    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => inner.GetInfoAsync(key, cancellationToken);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) => inner.DeleteAsync(keys, cancellationToken);
}
