using PgArchive.Storage;

namespace PgArchive.Support;

/// <summary>
/// A real store whose next puts of authentication records (<c>pgarchive_auth/...</c>) fail, as when a process dies
/// between storing an object and storing its record.
/// </summary>
internal sealed class RecordPutFailingStore(IObjectStore inner) : IObjectStore, IObjectCopier
{
    private int _failures;

    /// <summary>Makes the next <paramref name="count"/> record puts fail.</summary>
    public void FailNextRecordPuts(int count) => _failures = count;

    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        if (key.StartsWith(AuthenticatingObjectStore.SidecarPrefix, StringComparison.Ordinal) && Interlocked.Decrement(ref _failures) >= 0)
        {
            throw new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key, $"Storing '{key}' failed (injected).");
        }

        await inner.PutAsync(key, content, mode, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default) =>
        inner.OpenReadAsync(key, range, cancellationToken);

    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => inner.GetInfoAsync(key, cancellationToken);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) => inner.DeleteAsync(keys, cancellationToken);

    public bool CanCopy => inner is IObjectCopier { CanCopy: true };

    public Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default) =>
        ((IObjectCopier)inner).CopyAsync(sourceKey, destinationKey, cancellationToken);
}
