namespace PgArchive.Storage;

/// <summary>
/// An optional capability of an <see cref="IObjectStore"/>: copying an object to another key inside the store,
/// without its bytes passing through the caller. <c>backup-push --resume</c> uses it to put tar partitions of an
/// interrupted backup into the new one; a store without it is copied through by reading and writing.
/// </summary>
public interface IObjectCopier
{
    /// <summary>
    /// True when <see cref="CopyAsync"/> can be called. A decorator (retries, fault injection) answers for the store
    /// it wraps.
    /// </summary>
    bool CanCopy { get; }

    /// <summary>
    /// Copies <paramref name="sourceKey"/> to <paramref name="destinationKey"/>, replacing what is there, with the
    /// same guarantees as a put: the destination appears whole and durably stored, or not at all.
    /// </summary>
    /// <exception cref="ObjectStoreException">With <see cref="ObjectStoreErrorKind.NotFound"/> when the source is absent.</exception>
    Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default);
}
