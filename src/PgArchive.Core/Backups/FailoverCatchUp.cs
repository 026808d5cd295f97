using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Diagnostics;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// Gives every store of a <see cref="FailoverObjectStore"/> the objects the others hold and it lacks (<c>catch-up</c>):
/// first the backups complete in one store, each with <see cref="ArchiveCopier"/> (partitions checked against their
/// recorded checksums, the sentinel stored last, with the WAL their restore needs), then every other object (WAL
/// segments, timeline histories, authentication records, and the parts of a backup that <c>first-alive</c> spread over
/// several stores), byte for byte with its size checked, and the sentinels still missing last of all. Every store must
/// answer; a rerun skips what is there.
/// </summary>
public sealed class FailoverCatchUp(FailoverObjectStore store, ILoggerFactory? loggerFactory = null)
{
    private readonly FailoverObjectStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly ILoggerFactory _loggers = loggerFactory ?? NullLoggerFactory.Instance;

    /// <summary>Copies to each store what it lacks; <paramref name="concurrency"/> objects at once for backups.</summary>
    public async Task<IReadOnlyList<FailoverCatchUpResult>> RunAsync(int concurrency, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var logger = _loggers.CreateLogger<FailoverCatchUp>();
        var listings = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        foreach (var named in _store.Stores)
        {
            listings[named.Name] = await ListAllAsync(named, cancellationToken).ConfigureAwait(false);
        }

        var results = new List<FailoverCatchUpResult>();
        foreach (var destination in _store.Stores)
        {
            var backups = new List<string>();
            var copied = 0;
            var bytes = 0L;
            foreach (var source in _store.Stores.Where(s => s != destination))
            {
                var copy = await new ArchiveCopier(source.Store, destination.Store, _loggers.CreateLogger<ArchiveCopier>())
                    .CopyAsync(null, withHistory: false, concurrency, cancellationToken).ConfigureAwait(false);
                backups.AddRange(copy.Backups.Where(b => !backups.Contains(b, StringComparer.Ordinal)));
                copied += copy.Copied;
                bytes += copy.BytesCopied;
            }

            // What the backups' copies stored is not copied again.
            var present = copied == 0 ? listings[destination.Name] : await ListAllAsync(destination, cancellationToken).ConfigureAwait(false);
            foreach (var source in _store.Stores.Where(s => s != destination))
            {
                var fromThis = 0;
                // Sentinels last: a backup becomes visible in the destination only once all its parts are there.
                foreach (var (key, size) in listings[source.Name].OrderBy(o => IsSentinel(o.Key)).ThenBy(o => o.Key, StringComparer.Ordinal))
                {
                    if (!present.TryAdd(key, size))
                    {
                        continue;
                    }

                    try
                    {
                        bytes += await FailoverObjectStore.CopyObjectAsync(source.Store, destination.Store, key, PutMode.CreateNew, cancellationToken).ConfigureAwait(false);
                        fromThis++;
                    }
                    catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
                    {
                        // Copied with a backup's WAL a moment ago.
                    }
                }

                copied += fromThis;
                Log.StorageCaughtUp(logger, destination.Name, fromThis, source.Name);
            }

            _store.MarkCaughtUp(destination);
            results.Add(new FailoverCatchUpResult(destination.Name, backups, copied, bytes));
        }

        return results;
    }

    private static bool IsSentinel(string key) =>
        key.StartsWith(ArchiveLayout.BaseBackupsPrefix, StringComparison.Ordinal) && key.EndsWith(ArchiveLayout.SentinelSuffix, StringComparison.Ordinal);

    private static async Task<Dictionary<string, long>> ListAllAsync(FailoverStore named, CancellationToken cancellationToken)
    {
        var keys = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            await foreach (var info in named.Store.ListAsync("", cancellationToken).ConfigureAwait(false))
            {
                if (info.Key != FailoverObjectStore.CheckObjectKey)
                {
                    keys[info.Key] = info.Size;
                }
            }
        }
        catch (ObjectStoreException ex)
        {
            throw new ObjectStoreException(ex.Kind, ex.Key, $"catch-up needs every storage: storage '{named.Name}' cannot be listed: {ex.Message}", ex);
        }

        return keys;
    }
}
