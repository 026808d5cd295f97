using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Diagnostics;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// Gives every store of a <see cref="FailoverObjectStore"/> the objects the others hold and it lacks (<c>catch-up</c>):
/// first the complete backups, each with <see cref="ArchiveCopier"/> (partitions checked against their recorded
/// checksums, the sentinel stored last, with the WAL their restore needs), then every other object outside
/// <c>basebackups_005/</c> (WAL segments, timeline histories, authentication records), byte for byte with its size
/// checked. A backup without its sentinel is left out: it is not complete anywhere. Every store must answer; a rerun
/// skips what is there.
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
            listings[named.Name] = await ListOutsideBackupsAsync(named, cancellationToken).ConfigureAwait(false);
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

            var present = listings[destination.Name];
            foreach (var source in _store.Stores.Where(s => s != destination))
            {
                var fromThis = 0;
                foreach (var (key, size) in listings[source.Name].OrderBy(o => o.Key, StringComparer.Ordinal))
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

    private static async Task<Dictionary<string, long>> ListOutsideBackupsAsync(FailoverStore named, CancellationToken cancellationToken)
    {
        var keys = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            await foreach (var info in named.Store.ListAsync("", cancellationToken).ConfigureAwait(false))
            {
                if (!info.Key.StartsWith(ArchiveLayout.BaseBackupsPrefix, StringComparison.Ordinal) && info.Key != FailoverObjectStore.CheckObjectKey)
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
