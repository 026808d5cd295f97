using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace PgArchive.Storage;

/// <summary>
/// An object store held in memory: a fake for unit tests of code that uses PgArchive. Thread-safe; every
/// operation behaves as the conformance suite requires of a real store (create-only puts are atomic,
/// a put whose content stream throws stores nothing, listings are in ordinal key order).
/// </summary>
/// <remarks>
/// For tests of failure handling, <see cref="FailNext"/> makes the next operations throw and
/// <see cref="Latency"/> delays every operation.
/// </remarks>
public sealed class InMemoryObjectStore : IObjectStore, IObjectCopier
{
    private readonly ConcurrentDictionary<string, StoredObject> _objects = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly Lock _faultLock = new();
    private int _failuresLeft;
    private Func<string, string?, Exception>? _failure;

    /// <summary>Creates an empty store that stamps objects with <paramref name="timeProvider"/> (the system clock by default).</summary>
    public InMemoryObjectStore(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>A delay added to every operation (default none).</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>How many operations have run (put, read, info, list, delete, copy), faults included.</summary>
    public int OperationCount => _operationCount;

    private int _operationCount;

    /// <summary>
    /// Makes the next <paramref name="count"/> operations throw: by default an <see cref="ObjectStoreException"/>
    /// of kind <see cref="ObjectStoreErrorKind.Unavailable"/> (transient), or what <paramref name="failure"/>
    /// returns for the operation name (<c>put</c>, <c>read</c>, <c>info</c>, <c>list</c>, <c>delete</c>, <c>copy</c>) and key.
    /// </summary>
    public void FailNext(int count, Func<string, string?, Exception>? failure = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_faultLock)
        {
            _failuresLeft = count;
            _failure = failure;
        }
    }

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
        await BeforeAsync("put", key, cancellationToken).ConfigureAwait(false);
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
    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        await BeforeAsync("read", key, cancellationToken).ConfigureAwait(false);
        if (!_objects.TryGetValue(key, out var stored))
        {
            throw ObjectStoreException.NotFound(key);
        }

        var offset = (int)Math.Min(range?.Offset ?? 0, stored.Data.Length);
        var length = (int)Math.Min(range?.Length ?? long.MaxValue, stored.Data.Length - offset);
        return new MemoryStream(stored.Data, offset, length, writable: false);
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(key);
        await BeforeAsync("info", key, cancellationToken).ConfigureAwait(false);
        return _objects.TryGetValue(key, out var stored) ? new ObjectInfo(key, stored.Data.Length, stored.Modified) : null;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKey.ValidatePrefix(prefix);
        await BeforeAsync("list", null, cancellationToken).ConfigureAwait(false);
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
    public async Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.ToList();
        list.ForEach(key => ObjectKey.Validate(key));
        await BeforeAsync("delete", null, cancellationToken).ConfigureAwait(false);
        foreach (var key in list)
        {
            _objects.TryRemove(key, out _);
        }
    }

    /// <inheritdoc />
    public bool CanCopy => true;

    /// <inheritdoc />
    public async Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        ObjectKey.Validate(sourceKey);
        ObjectKey.Validate(destinationKey);
        await BeforeAsync("copy", destinationKey, cancellationToken).ConfigureAwait(false);
        if (!_objects.TryGetValue(sourceKey, out var stored))
        {
            throw ObjectStoreException.NotFound(sourceKey);
        }

        _objects[destinationKey] = new StoredObject(stored.Data, _time.GetUtcNow());
    }

    private async Task BeforeAsync(string operation, string? key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _operationCount);
        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency, _time, cancellationToken).ConfigureAwait(false);
        }

        Func<string, string?, Exception>? failure;
        lock (_faultLock)
        {
            if (_failuresLeft == 0)
            {
                return;
            }

            _failuresLeft--;
            failure = _failure;
        }

        throw failure?.Invoke(operation, key)
            ?? new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key, $"Injected fault: {operation} of '{key ?? "(listing)"}' failed.");
    }

    private sealed record StoredObject(byte[] Data, DateTimeOffset Modified);
}
