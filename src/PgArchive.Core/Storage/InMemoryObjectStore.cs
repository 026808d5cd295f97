using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace PgArchive.Storage;

/// <summary>
/// An object store held in memory: a fake for unit tests of code that uses PgArchive. Thread-safe; every
/// operation behaves as the conformance suite requires of a real store (create-only puts are atomic,
/// a put whose content stream throws stores nothing, listings are in ordinal key order).
/// </summary>
public sealed class InMemoryObjectStore : IObjectStore
{
    private readonly ConcurrentDictionary<string, StoredObject> _objects = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates an empty store that stamps objects with <paramref name="timeProvider"/> (the system clock by default).</summary>
    public InMemoryObjectStore(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>The keys stored now, in ordinal order.</summary>
    public IReadOnlyList<string> Keys => [.. _objects.Keys.Order(StringComparer.Ordinal)];

    /// <summary>A copy of the stored bytes of <paramref name="key"/>.</summary>
    /// <exception cref="ObjectStoreException">When the key is absent.</exception>
    public byte[] GetBytes(string key) =>
        _objects.TryGetValue(key, out var stored) ? stored.Data.ToArray() : throw ObjectStoreException.NotFound(key);

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var stored = new StoredObject(buffer.ToArray(), _time.GetUtcNow());
        if (mode == PutMode.CreateNew)
        {
            if (!_objects.TryAdd(key, stored))
            {
                throw ObjectStoreException.AlreadyExists(key);
            }
        }
        else
        {
            _objects[key] = stored;
        }
    }

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_objects.TryGetValue(key, out var stored))
        {
            throw ObjectStoreException.NotFound(key);
        }

        var offset = (int)Math.Min(range?.Offset ?? 0, stored.Data.Length);
        var length = (int)Math.Min(range?.Length ?? long.MaxValue, stored.Data.Length - offset);
        return Task.FromResult<Stream>(new MemoryStream(stored.Data, offset, length, writable: false));
    }

    /// <inheritdoc />
    public Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_objects.TryGetValue(key, out var stored) ? new ObjectInfo(key, stored.Data.Length, stored.Modified) : null);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKey.ValidatePrefix(prefix);
        await Task.Yield();
        var snapshot = _objects.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(p => new ObjectInfo(p.Key, p.Value.Data.Length, p.Value.Modified))
            .OrderBy(i => i.Key, StringComparer.Ordinal)
            .ToList();
        foreach (var info in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }

    /// <inheritdoc />
    public Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ObjectKey.Validate(key);
            _objects.TryRemove(key, out _);
        }

        return Task.CompletedTask;
    }

    private sealed record StoredObject(byte[] Data, DateTimeOffset Modified);
}
