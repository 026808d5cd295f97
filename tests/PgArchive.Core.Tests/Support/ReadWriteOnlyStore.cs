using PgArchive.Storage;

namespace PgArchive.Support;

/// <summary>A real store seen without its copy capability (<see cref="IObjectCopier"/>), as a store that can only read and write is.</summary>
internal sealed class ReadWriteOnlyStore(IObjectStore inner) : IObjectStore
{
    public Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default) =>
        inner.PutAsync(key, content, mode, cancellationToken);

    public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default) =>
        inner.OpenReadAsync(key, range, cancellationToken);

    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => inner.GetInfoAsync(key, cancellationToken);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) => inner.DeleteAsync(keys, cancellationToken);
}
