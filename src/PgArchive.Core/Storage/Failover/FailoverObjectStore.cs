using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Diagnostics;

namespace PgArchive.Storage;

/// <summary>
/// Several named stores behind one <see cref="IObjectStore"/>: WAL-G's failover storages, and a second repository.
/// Puts follow <see cref="FailoverStoresOptions.Policy"/>; reads come from the first store, alive ones first, that
/// holds the object, falling through to the next on not-found or failure; listings merge every store's, one entry per
/// key (the first store's); deletes go to every store. Alive checks and the status cache follow WAL-G's
/// (<c>WALG_FAILOVER_STORAGES_CHECK*</c>, <c>_CACHE_*</c>).
/// </summary>
/// <remarks>
/// A store that was dead or skipped while others took objects is marked in the status cache; when a later put reaches
/// it again, the WAL segments it missed near the pushed one are copied to it (at most
/// <see cref="FailoverStoresOptions.AutoCatchUpLimit"/> per put). <c>catch-up</c> copies everything else.
/// </remarks>
public sealed class FailoverObjectStore : IObjectStore, IDisposable
{
    /// <summary>The object the write check stores and deletes (WAL-G's name).</summary>
    public const string CheckObjectKey = "wal-g_storage_check";

    private const double ReadWeight = 1000, ListWeight = 2000, DeleteWeight = 500;
    private readonly FailoverStoresOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StorageStatusCache _cache;

    /// <summary>Creates the store over <paramref name="stores"/>, the primary first.</summary>
    public FailoverObjectStore(IEnumerable<FailoverStore> stores, FailoverStoresOptions? options = null, TimeProvider? timeProvider = null,
        ILogger<FailoverObjectStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(stores);
        Stores = [.. stores];
        if (Stores.Count == 0)
        {
            throw new ArgumentException("At least one store is needed.", nameof(stores));
        }

        var duplicate = Stores.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Two stores are named '{duplicate.Key}'.", nameof(stores));
        }

        _options = options ?? new FailoverStoresOptions();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<FailoverObjectStore>.Instance;
        _cache = new StorageStatusCache(_options, _time, _logger);
    }

    /// <summary>The stores in configured order, the primary first.</summary>
    public IReadOnlyList<FailoverStore> Stores { get; }

    /// <summary>Whether <paramref name="store"/> counts as alive now, checking it when its cached status is outdated.</summary>
    public async Task<bool> IsAliveAsync(FailoverStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!_options.Check)
        {
            return true;
        }

        var key = CacheKey(store);
        if (_cache.IsRelevant(key))
        {
            return _cache.Get(key).IsAlive(_options);
        }

        var alive = await CheckAsync(store, cancellationToken).ConfigureAwait(false);
        SetChecked(store, alive);
        return alive;
    }

    /// <summary>Whether the status cache records that <paramref name="store"/> lacks objects the others took while it was down.</summary>
    public bool HasMissedObjects(FailoverStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return _cache.Get(CacheKey(store)).MissedObjects;
    }

    /// <summary>Records that <paramref name="store"/> holds everything again (after a complete catch-up).</summary>
    public void MarkCaughtUp(FailoverStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _cache.Update(CacheKey(store), s => s with { MissedObjects = false, Updated = s.Updated == DateTimeOffset.MinValue ? _time.GetUtcNow() : s.Updated }, Always);
    }

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(content);
        IReadOnlyList<FailoverStore> reached = _options.Policy == FailoverWritePolicy.FirstAlive
            ? [await PutFirstAliveAsync(key, content, mode, cancellationToken).ConfigureAwait(false)]
            : await PutAllAsync(key, content, mode, cancellationToken).ConfigureAwait(false);
        await AutoCatchUpAsync(key, reached, cancellationToken).ConfigureAwait(false);
    }

    private async Task<FailoverStore> PutFirstAliveAsync(string key, Stream content, PutMode mode, CancellationToken cancellationToken)
    {
        FailoverStore? target = null;
        var skipped = new List<FailoverStore>();
        foreach (var store in Stores)
        {
            if (await IsAliveAsync(store, cancellationToken).ConfigureAwait(false))
            {
                target = store;
                break;
            }

            skipped.Add(store);
        }

        if (target is null)
        {
            throw new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                $"Cannot store '{key}': no storage is alive ({string.Join(", ", Stores.Select(s => s.Name))}).");
        }

        try
        {
            await target.Store.PutAsync(key, content, mode, cancellationToken).ConfigureAwait(false);
            Report(target, success: true, ReadWeight);
        }
        catch (ObjectStoreException ex) when (ex.Kind != ObjectStoreErrorKind.AlreadyExists)
        {
            Report(target, success: false, ReadWeight);
            if (_options.Check && !await CheckAsync(target, cancellationToken).ConfigureAwait(false))
            {
                // The first storage that answers takes the object: the retry layer puts it again, to the next one.
                SetChecked(target, alive: false);
                throw new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                    $"Cannot store '{key}' in storage '{target.Name}', which is down now: {ex.Message}", ex);
            }

            throw;
        }

        foreach (var store in skipped)
        {
            _cache.Update(CacheKey(store), s => s with { MissedObjects = true }, Always);
        }

        return target;
    }

    private async Task<IReadOnlyList<FailoverStore>> PutAllAsync(string key, Stream content, PutMode mode, CancellationToken cancellationToken)
    {
        // The content can be read once: it goes to the first store, and from there to the others.
        var first = Stores[0];
        ObjectStoreException? existed = null;
        try
        {
            await first.Store.PutAsync(key, content, mode, cancellationToken).ConfigureAwait(false);
            Report(first, success: true, ReadWeight);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
        {
            // A retry: the first store holds the object already. The others get it from there, then the caller
            // compares contents as it does for one store.
            existed = ex;
        }
        catch (ObjectStoreException)
        {
            Report(first, success: false, ReadWeight);
            throw;
        }

        foreach (var store in Stores.Skip(1))
        {
            try
            {
                await CopyObjectAsync(first.Store, store.Store, key, mode == PutMode.CreateNew || existed is not null ? PutMode.CreateNew : mode, cancellationToken).ConfigureAwait(false);
                Report(store, success: true, ReadWeight);
            }
            catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
            {
                // Stored there by an earlier attempt.
            }
            catch (ObjectStoreException ex)
            {
                Report(store, success: false, ReadWeight);
                _cache.Update(CacheKey(store), s => s with { MissedObjects = true }, Always);
                throw new ObjectStoreException(ex.Kind, key,
                    $"Stored '{key}' in storage '{first.Name}' but not in '{store.Name}' (policy all): {ex.Message}", ex);
            }
        }

        if (existed is not null)
        {
            throw existed;
        }

        return Stores;
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ObjectStoreException? failure = null;
        foreach (var store in ReadOrder())
        {
            try
            {
                var stream = await store.Store.OpenReadAsync(key, range, cancellationToken).ConfigureAwait(false);
                Report(store, success: true, ReadWeight);
                return stream;
            }
            catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
            {
                Report(store, success: true, ReadWeight);
            }
            catch (ObjectStoreException ex)
            {
                Report(store, success: false, ReadWeight);
                failure ??= ex;
            }
        }

        throw failure ?? ObjectStoreException.NotFound(key);
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ObjectStoreException? failure = null;
        foreach (var store in ReadOrder())
        {
            try
            {
                var info = await store.Store.GetInfoAsync(key, cancellationToken).ConfigureAwait(false);
                Report(store, success: true, ReadWeight);
                if (info is not null)
                {
                    return info;
                }
            }
            catch (ObjectStoreException ex)
            {
                Report(store, success: false, ReadWeight);
                failure ??= ex;
            }
        }

        return failure is null ? null : throw failure;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        // Every store lists in ordinal key order: a k-way merge keeps one entry per store in memory. A key held by
        // several stores is listed once, as the first store (in read order) holds it. A store that fails is left out
        // of the listing (WAL-G lists the alive storages); when every store fails, the first failure is thrown.
        var order = ReadOrder();
        var heads = new IAsyncEnumerator<ObjectInfo>?[order.Count];
        var current = new ObjectInfo?[order.Count];
        ObjectStoreException? failure = null;
        var answered = 0;
        try
        {
            for (var i = 0; i < order.Count; i++)
            {
                heads[i] = order[i].Store.ListAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
                (current[i], var failed) = await AdvanceAsync(order[i], heads[i]!).ConfigureAwait(false);
                failure ??= failed;
                answered += failed is null ? 1 : 0;
            }

            if (answered == 0)
            {
                throw failure!;
            }

            while (true)
            {
                string? smallest = null;
                var from = -1;
                for (var i = 0; i < order.Count; i++)
                {
                    if (current[i] is { } info && (smallest is null || string.CompareOrdinal(info.Key, smallest) < 0))
                    {
                        smallest = info.Key;
                        from = i;
                    }
                }

                if (from < 0)
                {
                    yield break;
                }

                yield return current[from]!;
                for (var i = 0; i < order.Count; i++)
                {
                    if (current[i] is { } info && info.Key == smallest)
                    {
                        (current[i], _) = await AdvanceAsync(order[i], heads[i]!).ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            foreach (var head in heads)
            {
                if (head is not null)
                {
                    await head.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private async Task<(ObjectInfo? Next, ObjectStoreException? Failure)> AdvanceAsync(FailoverStore store, IAsyncEnumerator<ObjectInfo> head)
    {
        try
        {
            if (await head.MoveNextAsync().ConfigureAwait(false))
            {
                return (head.Current, null);
            }

            Report(store, success: true, ListWeight);
            return (null, null);
        }
        catch (ObjectStoreException ex)
        {
            Report(store, success: false, ListWeight);
            Log.StorageLeftOutOfListing(_logger, store.Name, ex.Message);
            return (null, ex);
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.ToList();
        ObjectStoreException? failure = null;
        foreach (var store in Stores)
        {
            try
            {
                await store.Store.DeleteAsync(list, cancellationToken).ConfigureAwait(false);
                Report(store, success: true, DeleteWeight);
            }
            catch (ObjectStoreException ex)
            {
                Report(store, success: false, DeleteWeight);
                failure ??= new ObjectStoreException(ex.Kind, ex.Key, $"Cannot delete from storage '{store.Name}': {ex.Message}", ex);
            }
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    /// <summary>
    /// Copies <paramref name="key"/> from <paramref name="source"/> to <paramref name="destination"/> byte for byte and
    /// checks the stored size.
    /// </summary>
    internal static async Task<long> CopyObjectAsync(IObjectStore source, IObjectStore destination, string key, PutMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        var expected = await source.GetInfoAsync(key, cancellationToken).ConfigureAwait(false) ?? throw ObjectStoreException.NotFound(key);
        var stream = await source.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await destination.PutAsync(key, stream, mode, cancellationToken).ConfigureAwait(false);
        }

        var stored = await destination.GetInfoAsync(key, cancellationToken).ConfigureAwait(false);
        if (stored?.Size != expected.Size)
        {
            throw new ObjectCorruptException(key, $"Copied '{key}' but the destination holds {stored?.Size.ToString(CultureInfo.InvariantCulture) ?? "nothing"} bytes, not {expected.Size}.");
        }

        return expected.Size;
    }

    /// <summary>
    /// After a put of a WAL segment, fills each store that took it and is marked as having missed objects with the
    /// segments of the same and the previous log file (at most 512 names listed per store) that others hold, with their
    /// authentication records.
    /// </summary>
    private async Task AutoCatchUpAsync(string key, IReadOnlyList<FailoverStore> reached, CancellationToken cancellationToken)
    {
        if (_options.AutoCatchUpLimit <= 0 || Stores.Count < 2 || !key.StartsWith(ArchiveLayout.WalPrefix, StringComparison.Ordinal))
        {
            return;
        }

        var name = key[ArchiveLayout.WalPrefix.Length..];
        if (name.Length < 24 || !uint.TryParse(name.AsSpan(8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var log))
        {
            return;
        }

        // The segments' authentication records (pgarchive_auth/wal_005/...) go with them.
        string[] windows = log == 0
            ? [ArchiveLayout.WalPrefix + name[..16]]
            : [ArchiveLayout.WalPrefix + name[..8] + (log - 1).ToString("X8", CultureInfo.InvariantCulture), ArchiveLayout.WalPrefix + name[..16]];
        var prefixes = windows.SelectMany(w => (string[])[w, AuthenticatingObjectStore.SidecarPrefix + w]).ToList();
        foreach (var store in reached.Where(HasMissedObjects))
        {
            try
            {
                var copied = 0;
                foreach (var prefix in prefixes)
                {
                    copied += await CatchUpPrefixAsync(store, prefix, _options.AutoCatchUpLimit - copied, cancellationToken).ConfigureAwait(false);
                }

                if (copied < _options.AutoCatchUpLimit)
                {
                    MarkCaughtUp(store);
                }
            }
            catch (ObjectStoreException ex)
            {
                Log.CatchUpFailed(_logger, store.Name, ex.Message);
            }
        }
    }

    private async Task<int> CatchUpPrefixAsync(FailoverStore destination, string prefix, int limit, CancellationToken cancellationToken)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var info in destination.Store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            present.Add(info.Key);
        }

        var copied = 0;
        foreach (var source in Stores.Where(s => s != destination))
        {
            var missing = new List<string>();
            await foreach (var info in source.Store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                if (present.Add(info.Key))
                {
                    missing.Add(info.Key);
                }
            }

            var fromSource = 0;
            foreach (var key in missing)
            {
                if (copied >= limit)
                {
                    Log.StorageCaughtUpInPart(_logger, destination.Name, fromSource, missing.Count, source.Name);
                    return copied;
                }

                await CopyObjectAsync(source.Store, destination.Store, key, PutMode.CreateNew, cancellationToken).ConfigureAwait(false);
                copied++;
                fromSource++;
            }

            if (missing.Count > 0)
            {
                Log.StorageCaughtUp(_logger, destination.Name, missing.Count, source.Name);
            }
        }

        return copied;
    }

    /// <summary>The stores in configured order, those the cache knows to be dead last.</summary>
    private List<FailoverStore> ReadOrder() =>
        !_options.Check ? [.. Stores]
            : [.. Stores.OrderBy(s => _cache.IsRelevant(CacheKey(s)) && !_cache.Get(CacheKey(s)).IsAlive(_options) ? 1 : 0)];

    private async Task<bool> CheckAsync(FailoverStore store, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.CheckTimeout);
        try
        {
            // Read: one listing. Write: an object of CheckSize random bytes stored and deleted (WAL-G's checks).
            await foreach (var _ in store.Store.ListAsync(CheckObjectKey, timeout.Token).ConfigureAwait(false))
            {
                break;
            }

            var bytes = new byte[_options.CheckSize];
            RandomNumberGenerator.Fill(bytes);
            using var content = new MemoryStream(bytes, writable: false);
            await store.Store.PutAsync(CheckObjectKey, content, PutMode.Overwrite, timeout.Token).ConfigureAwait(false);
            await store.Store.DeleteAsync([CheckObjectKey], timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Log.StorageCheckFailed(_logger, store.Name, $"no answer within {_options.CheckTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
            return false;
        }
        catch (Exception ex) when (ex is ObjectStoreException or IOException or HttpRequestException)
        {
            Log.StorageCheckFailed(_logger, store.Name, ex.Message);
            return false;
        }
    }

    private void SetChecked(FailoverStore store, bool alive)
    {
        var (before, after) = _cache.Update(CacheKey(store), s => s.AfterCheck(alive, _time.GetUtcNow()), Always);
        if (before.IsAlive(_options) != after.IsAlive(_options) || before.Updated == DateTimeOffset.MinValue)
        {
            Log.StorageStatusChanged(_logger, store.Name, alive ? "alive" : "dead");
        }
    }

    private void Report(FailoverStore store, bool success, double weight)
    {
        if (!_options.Check)
        {
            return;
        }

        var (before, after) = _cache.Update(CacheKey(store), s => s.AfterOperation(_options, success, weight, _time.GetUtcNow()),
            (b, a) => b.IsAlive(_options) != a.IsAlive(_options));
        if (before.IsAlive(_options) != after.IsAlive(_options))
        {
            Log.StorageStatusChanged(_logger, store.Name, after.IsAlive(_options) ? "alive" : "dead");
        }
    }

    private static bool Always(StorageStatus before, StorageStatus after) => true;

    /// <summary>Writes the statuses still held in memory only to the status cache file.</summary>
    public void Dispose() => _cache.Flush();

    private static string CacheKey(FailoverStore store)
    {
        var identity = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(store.Identity ?? store.Name)))[..16];
        return store.Name + "#" + identity;
    }
}
