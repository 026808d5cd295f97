namespace PgArchive.Storage;

/// <summary>
/// A flat namespace of immutable objects addressed by '/'-separated keys relative to the store's root
/// (for WAL-G compatibility: <c>basebackups_005/...</c> and <c>wal_005/...</c>).
/// Every implementation passes the storage conformance suite.
/// </summary>
/// <remarks>
/// Failures are reported as <see cref="ObjectStoreException"/> with an <see cref="ObjectStoreErrorKind"/>;
/// messages name the key and never contain credentials.
/// </remarks>
public interface IObjectStore
{
    /// <summary>
    /// Stores everything <paramref name="content"/> yields, of any length, under <paramref name="key"/>.
    /// The object becomes visible only once the whole content was read to its end and durably stored;
    /// if reading the content throws, nothing is stored.
    /// </summary>
    Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default);

    /// <summary>Opens the object for reading, whole or a range of it.</summary>
    /// <exception cref="ObjectStoreException">With <see cref="ObjectStoreErrorKind.NotFound"/> when absent.</exception>
    Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default);

    /// <summary>Size and modification time of the object, or null when it does not exist.</summary>
    Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every object whose key starts with <paramref name="prefix"/>, in ordinal key order.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes the objects; keys that do not exist are ignored.</summary>
    Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default);
}
