using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>
/// A decorator that holds everything a store sends and receives to one shared byte rate (WAL-G's
/// <c>WALG_NETWORK_RATE_LIMIT</c>, <see cref="PgArchiveOptions.NetworkRateLimit"/>): the content of every put and every
/// read, whichever command and however many workers run them. Listings, deletes and copies within the store carry no
/// content and pass straight through.
/// </summary>
internal sealed class RateLimitedObjectStore(IObjectStore inner, ByteRateLimiter limiter) : IObjectStore, IObjectCopier
{
    /// <summary>The store being limited.</summary>
    public IObjectStore Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    public Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return Inner.PutAsync(key, new RateLimitedReadStream(content, limiter, leaveOpen: true), mode, cancellationToken);
    }

    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default) =>
        new RateLimitedReadStream(await Inner.OpenReadAsync(key, range, cancellationToken).ConfigureAwait(false), limiter);

    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => Inner.GetInfoAsync(key, cancellationToken);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => Inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default) => Inner.DeleteAsync(keys, cancellationToken);

    public bool CanCopy => Inner is IObjectCopier { CanCopy: true };

    public Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default) =>
        (Inner as IObjectCopier is { CanCopy: true } copier ? copier : throw new NotSupportedException("The store cannot copy objects."))
            .CopyAsync(sourceKey, destinationKey, cancellationToken);
}
