using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Diagnostics;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal;

namespace PgArchive.Backups;

/// <summary>
/// Copies restorable backups from one store to another, as WAL-G's <c>copy</c>: every object of a backup (its folder,
/// metadata and tar partitions), the backups its delta chain is built on, the WAL an exact restore replays (its start
/// segment through its finish segment, and the timeline history files up to its timeline), and with
/// <c>withHistory</c> every later segment of its timeline archived when the copy starts. Payloads are copied byte for
/// byte (never decompressed or decrypted), streaming, several at once; a tar partition whose size and XXH128 are recorded
/// in files_metadata.json is checked on the way and never stored when it differs. An object the destination already
/// holds with the same key and size is skipped, so a copy that stopped is resumed by running it again. A backup's
/// sentinel is stored last, once everything it needs is there: the destination lists the backup only when it is whole.
/// </summary>
public sealed class ArchiveCopier(IObjectStore source, IObjectStore destination, ILogger<ArchiveCopier>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<ArchiveCopier>.Instance;
    private readonly IObjectStore _source = source ?? throw new ArgumentNullException(nameof(source));
    private readonly IObjectStore _destination = destination ?? throw new ArgumentNullException(nameof(destination));

    /// <summary>
    /// Copies the backup <paramref name="backupName"/> (a name or <c>LATEST</c>), or every complete backup when null, with what it needs.
    /// </summary>
    /// <param name="backupName">The backup to copy; null for all of them.</param>
    /// <param name="withHistory">Also copy every segment of the backup's timeline archived after it, up to the newest one.</param>
    /// <param name="concurrency">How many objects are copied at once (WALG_UPLOAD_CONCURRENCY).</param>
    /// <param name="cancellationToken">Stops the copy; what was stored stays, and a rerun skips it.</param>
    /// <exception cref="BackupNotFoundException">No such backup.</exception>
    /// <exception cref="ObjectCorruptException">A tar partition differs from the size and checksum recorded for it; the backup's sentinel is not copied.</exception>
    /// <exception cref="PgArchiveException">A delta chain is broken.</exception>
    public async Task<ArchiveCopyResult> CopyAsync(string? backupName, bool withHistory, int concurrency, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var catalog = new BackupCatalog(_source);
        IReadOnlyList<BackupInfo> targets = backupName is null
            ? await catalog.ListAsync(cancellationToken).ConfigureAwait(false)
            : [await catalog.ResolveAsync(backupName, cancellationToken).ConfigureAwait(false)];
        var backupObjects = await ListAsync(_source, ArchiveLayout.BaseBackupsPrefix, cancellationToken).ConfigureAwait(false);
        var walObjects = await ListAsync(_source, ArchiveLayout.WalPrefix, cancellationToken).ConfigureAwait(false);
        var present = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var prefix in (string[])[ArchiveLayout.BaseBackupsPrefix, ArchiveLayout.WalPrefix])
        {
            await foreach (var info in _destination.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                present[info.Key] = info.Size;
            }
        }

        var payload = new Dictionary<string, CopyItem>(StringComparer.Ordinal);
        var sentinels = new List<CopyItem>();
        var backups = new List<string>();
        foreach (var target in targets)
        {
            var sentinel = await catalog.ReadSentinelAsync(target.Name, cancellationToken).ConfigureAwait(false);
            var chain = (await catalog.ReadChainAsync(target.Name, sentinel, cancellationToken).ConfigureAwait(false)).EnsureComplete();
            foreach (var name in chain.Names.Reverse())
            {
                if (backups.Contains(name, StringComparer.Ordinal))
                {
                    continue;
                }

                backups.Add(name);
                var checksums = (await catalog.ReadFilesMetadataAsync(name, cancellationToken).ConfigureAwait(false))?.TarChecksums;
                var folder = ArchiveLayout.BackupPrefix(name);
                var partitions = ArchiveLayout.TarPartitionsPrefix(name);
                foreach (var info in backupObjects.Where(o => o.Key.StartsWith(folder, StringComparison.Ordinal)))
                {
                    var recorded = info.Key.StartsWith(partitions, StringComparison.Ordinal) && checksums?.GetValueOrDefault(info.Key[partitions.Length..]) is { } sum ? sum : null;
                    payload.TryAdd(info.Key, new CopyItem(info, recorded));
                }

                var sentinelKey = ArchiveLayout.SentinelKey(name);
                sentinels.Add(new CopyItem(backupObjects.First(o => o.Key == sentinelKey), null));
            }

            foreach (var info in WalNeeded(await catalog.GetDetailAsync(target, cancellationToken).ConfigureAwait(false), walObjects, withHistory))
            {
                payload.TryAdd(info.Key, new CopyItem(info, null));
            }
        }

        Log.CopyPlanned(_logger, payload.Count + sentinels.Count, sentinels.Count, string.Join(", ", backups), present.Count);
        var totals = new Totals();
        await Parallel.ForEachAsync(payload.Values, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            (item, ct) => new ValueTask(CopyObjectAsync(item, present, totals, ct))).ConfigureAwait(false);
        foreach (var item in sentinels)
        {
            await CopyObjectAsync(item, present, totals, cancellationToken).ConfigureAwait(false);
        }

        return new ArchiveCopyResult(backups, totals.Copied, totals.Skipped, totals.Bytes);
    }

    /// <summary>
    /// The WAL objects an exact restore of <paramref name="backup"/> replays: its timeline's segments from its start through its
    /// finish (through the newest with <paramref name="withHistory"/>), and the history files of its timeline and those before it.
    /// </summary>
    private static IEnumerable<ObjectInfo> WalNeeded(BackupDetail backup, IReadOnlyList<ObjectInfo> walObjects, bool withHistory)
    {
        var segmentSize = BackupDetail.InferSegmentSize([backup]);
        var timeline = backup.Timeline;
        var start = WalSegment.Parse(backup.Info.WalFileName, segmentSize);
        var finish = WalSegment.Containing(new Lsn(Math.Max(backup.FinishLsn.Value, 1) - 1), timeline, segmentSize);
        foreach (var info in walObjects)
        {
            var wal = WalArchiveInventory.Describe(info, segmentSize);
            var needed = wal.Kind == WalFileKind.TimelineHistory
                ? uint.Parse(wal.FileName.AsSpan(0, 8), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture) <= timeline
                : wal.Segment is { } segment && segment.Timeline == timeline && segment >= start && (withHistory || segment <= finish);
            if (needed)
            {
                yield return info;
            }
        }
    }

    private async Task CopyObjectAsync(CopyItem item, Dictionary<string, long> present, Totals totals, CancellationToken cancellationToken)
    {
        var key = item.Info.Key;
        if (present.TryGetValue(key, out var size) && size == item.Info.Size)
        {
            Interlocked.Increment(ref totals.Skipped);
            return;
        }

        var stream = await _source.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            // A recorded partition is hashed as it streams; ChecksumVerifyingStream throws at its end when it differs, so the put stores nothing.
            var content = item.Recorded is null ? stream : new ChecksumVerifyingStream(stream, key, item.Recorded);
            await using (content.ConfigureAwait(false))
            {
                await _destination.PutAsync(key, content, PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
            }
        }

        Log.ObjectCopied(_logger, key, item.Info.Size);
        Interlocked.Increment(ref totals.Copied);
        Interlocked.Add(ref totals.Bytes, item.Info.Size);
    }

    private static async Task<List<ObjectInfo>> ListAsync(IObjectStore store, string prefix, CancellationToken cancellationToken)
    {
        var objects = new List<ObjectInfo>();
        await foreach (var info in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            objects.Add(info);
        }

        return objects;
    }

    private sealed record CopyItem(ObjectInfo Info, StoredChecksum? Recorded);

    private sealed class Totals
    {
        public int Copied;
        public int Skipped;
        public long Bytes;
    }
}
