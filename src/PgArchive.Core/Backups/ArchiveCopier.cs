using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Diagnostics;
using PgArchive.Encryption;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal;
using PgArchive.Wal.Records;

namespace PgArchive.Backups;

/// <summary>
/// Copies restorable backups from one store to another, as WAL-G's <c>copy</c>: every object of a backup (its folder,
/// metadata and tar partitions), the backups its delta chain is built on, the WAL an exact restore replays (its start
/// segment through its finish segment, and the timeline history files up to its timeline) with the WAL block maps of
/// those segments (<c>wal_blockmaps_005/</c>), and with <c>withHistory</c> every later segment of its timeline archived
/// when the copy starts. Payloads are copied as stored (never decompressed; re-encrypted only as the remarks say),
/// streaming, several at once; a tar partition whose size and XXH128 are recorded in files_metadata.json is checked on
/// the way and never stored when it differs. A backup's sentinel is stored last, once everything it needs is there: the
/// destination lists the backup only when it is whole.
/// </summary>
/// <remarks>
/// <para>
/// Nothing in the destination is ever replaced: objects are stored create-only. An object the destination already
/// holds is accepted when it is the same (so a copy that stopped is resumed by running it again) and otherwise fails
/// the copy, naming it, before any sentinel is stored. "The same" is, when copying byte for byte, the same size (and,
/// when the destination authenticates its objects, a record that verifies: one stored without its record by a run that
/// stopped between the two puts is compared with the source byte for byte and then recorded).
/// </para>
/// <para>
/// Re-encryption: built with the two stores' encryptors and their <see cref="IEncryptor.KeyIdentity"/> differ, the
/// encrypted payloads (tar partitions, a remote backup's backup_manifest, WAL objects) are decrypted with the source's
/// key and encrypted with the destination's on the way, streaming, their compression left as it is; the JSON objects,
/// which are never encrypted, are copied as they are, but for files_metadata.json, whose TarChecksums are rewritten to
/// the size and XXH128 of the partitions as stored in the destination (measured while they are written) and stored
/// after them. An object a re-encrypting copy finds in the destination is the same when it decrypts, with the
/// destination's key, to the plaintext the source's decrypts to: both are read in full (the encryption is randomised,
/// so no size or checksum can tell), which makes resuming a re-encrypting copy cost a read of what is already there.
/// </para>
/// </remarks>
public sealed partial class ArchiveCopier
{
    private readonly ILogger _logger;
    private readonly IObjectStore _source;
    private readonly IObjectStore _destination;
    private readonly Recoding? _recoding;

    /// <summary>A copier that copies stored bytes as they are.</summary>
    public ArchiveCopier(IObjectStore source, IObjectStore destination, ILogger<ArchiveCopier>? logger = null)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _destination = destination ?? throw new ArgumentNullException(nameof(destination));
        _logger = logger ?? NullLogger<ArchiveCopier>.Instance;
    }

    /// <summary>
    /// A copier between stores encrypted with <paramref name="sourceEncryptor"/> and <paramref name="destinationEncryptor"/>:
    /// byte for byte when their key identities are the same, re-encrypting the payloads when they differ.
    /// </summary>
    public ArchiveCopier(IObjectStore source, IEncryptor sourceEncryptor, IObjectStore destination, IEncryptor destinationEncryptor,
        ILogger<ArchiveCopier>? logger = null)
        : this(source, destination, logger)
    {
        ArgumentNullException.ThrowIfNull(sourceEncryptor);
        ArgumentNullException.ThrowIfNull(destinationEncryptor);
        _recoding = sourceEncryptor.KeyIdentity == destinationEncryptor.KeyIdentity ? null : new Recoding(sourceEncryptor, destinationEncryptor);
    }

    /// <summary>True when the payloads are decrypted with the source's key and encrypted with the destination's on the way.</summary>
    public bool ReEncrypts => _recoding is not null;

    /// <summary>
    /// Copies the backup <paramref name="backupName"/> (a name or <c>LATEST</c>), or every complete backup when null, with what it needs.
    /// </summary>
    /// <param name="backupName">The backup to copy; null for all of them.</param>
    /// <param name="withHistory">Also copy every segment of the backup's timeline archived after it, up to the newest one.</param>
    /// <param name="concurrency">How many objects are copied at once (WALG_UPLOAD_CONCURRENCY).</param>
    /// <param name="cancellationToken">Stops the copy; what was stored stays, and a rerun skips it.</param>
    /// <exception cref="BackupNotFoundException">No such backup.</exception>
    /// <exception cref="ObjectCorruptException">A tar partition differs from the size and checksum recorded for it; the backup's sentinel is not copied.</exception>
    /// <exception cref="PgArchiveException">A delta chain is broken; the destination holds an object of the copy with other
    /// content (left as it is); a payload cannot be decrypted with the source's key.</exception>
    public async Task<ArchiveCopyResult> CopyAsync(string? backupName, bool withHistory, int concurrency, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var catalog = new BackupCatalog(_source);
        IReadOnlyList<BackupInfo> targets = backupName is null
            ? await catalog.ListAsync(cancellationToken).ConfigureAwait(false)
            : [await catalog.ResolveAsync(backupName, cancellationToken).ConfigureAwait(false)];
        var backupObjects = await ListAsync(_source, ArchiveLayout.BaseBackupsPrefix, cancellationToken).ConfigureAwait(false);
        var walObjects = await ListAsync(_source, ArchiveLayout.WalPrefix, cancellationToken).ConfigureAwait(false);
        var blockMaps = (await ListAsync(_source, ArchiveLayout.WalBlockMapsPrefix, cancellationToken).ConfigureAwait(false))
            .Where(m => WalBlockMapStore.SegmentOf(m.Key) is not null).ToLookup(m => WalBlockMapStore.SegmentOf(m.Key)!, StringComparer.Ordinal);
        var present = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var prefix in (string[])[ArchiveLayout.BaseBackupsPrefix, ArchiveLayout.WalPrefix, ArchiveLayout.WalBlockMapsPrefix])
        {
            await foreach (var info in _destination.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                present[info.Key] = info.Size;
            }
        }

        var payload = new Dictionary<string, CopyItem>(StringComparer.Ordinal);
        var rewrites = new List<string>();
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
                var files = await catalog.ReadFilesMetadataAsync(name, cancellationToken).ConfigureAwait(false);
                var checksums = files?.TarChecksums;
                var rewrite = _recoding is not null && checksums is not null;
                if (rewrite)
                {
                    // Its checksums describe the source's stored bytes: rewritten once the partitions are stored (and read
                    // again then, one backup at a time, rather than held: a files_metadata.json grows with the cluster's files).
                    rewrites.Add(name);
                }

                var folder = ArchiveLayout.BackupPrefix(name);
                var partitions = ArchiveLayout.TarPartitionsPrefix(name);
                foreach (var info in backupObjects.Where(o => o.Key.StartsWith(folder, StringComparison.Ordinal)))
                {
                    var partition = info.Key.StartsWith(partitions, StringComparison.Ordinal);
                    var recorded = partition && checksums?.GetValueOrDefault(info.Key[partitions.Length..]) is { } sum ? sum : null;
                    // Encrypted: the tar partitions and a remote backup's backup_manifest; the JSON objects (and WAL-E's extended_version.txt) never are.
                    var encrypted = partition || info.Key.AsSpan(folder.Length).StartsWith(ArchiveLayout.BackupManifestObjectName, StringComparison.Ordinal);
                    if (!rewrite || info.Key != ArchiveLayout.FilesMetadataKey(name))
                    {
                        payload.TryAdd(info.Key, new CopyItem(info, recorded, encrypted));
                    }
                }

                var sentinelKey = ArchiveLayout.SentinelKey(name);
                sentinels.Add(new CopyItem(backupObjects.First(o => o.Key == sentinelKey), null, Encrypted: false));
            }

            foreach (var (info, segment) in WalNeeded(await catalog.GetDetailAsync(target, cancellationToken).ConfigureAwait(false), walObjects, withHistory))
            {
                payload.TryAdd(info.Key, new CopyItem(info, null, Encrypted: true));
                // A segment's WAL block map goes with it (stored through the codec as the segment is), so that a delta
                // taken against the copy in the destination reads only the blocks the maps name there too.
                foreach (var map in segment is null ? [] : blockMaps[segment])
                {
                    payload.TryAdd(map.Key, new CopyItem(map, null, Encrypted: true));
                }
            }
        }

        Log.CopyPlanned(_logger, payload.Count + rewrites.Count + sentinels.Count, sentinels.Count, string.Join(", ", backups), present.Count);
        var totals = new Totals();
        await Parallel.ForEachAsync(payload.Values, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            (item, ct) => new ValueTask(CopyObjectAsync(item, present, totals, ct))).ConfigureAwait(false);
        foreach (var name in rewrites)
        {
            var files = await catalog.ReadFilesMetadataAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw new PgArchiveException($"'{ArchiveLayout.FilesMetadataKey(name)}' was removed from the source during the copy.");
            await CopyObjectAsync(Rewritten(name, files, totals.Stored), present, totals, cancellationToken).ConfigureAwait(false);
        }

        foreach (var item in sentinels)
        {
            await CopyObjectAsync(item, present, totals, cancellationToken).ConfigureAwait(false);
        }

        return new ArchiveCopyResult(backups, totals.Copied, totals.Skipped, totals.BytesCopied) { ReEncrypted = ReEncrypts };
    }

    /// <summary>
    /// files_metadata.json of <paramref name="name"/> as the destination needs it: each partition's recorded size and XXH128
    /// replaced by those of its re-encrypted bytes (<paramref name="stored"/>, by key), in the same order, so that every run
    /// of the copy writes the same bytes.
    /// </summary>
    private static CopyItem Rewritten(string name, FilesMetadata files, ConcurrentDictionary<string, StoredChecksum> stored)
    {
        var partitions = ArchiveLayout.TarPartitionsPrefix(name);
        var rewritten = new FilesMetadata
        {
            Files = files.Files,
            TarFileSets = files.TarFileSets,
            TarChecksums = files.TarChecksums?.ToDictionary(t => t.Key, t => stored.GetValueOrDefault(partitions + t.Key) ?? t.Value, StringComparer.Ordinal),
        };
        var content = JsonSerializer.SerializeToUtf8Bytes(rewritten, PgArchiveJsonContext.Default.FilesMetadata);
        return new CopyItem(new ObjectInfo(ArchiveLayout.FilesMetadataKey(name), content.Length, DateTimeOffset.UnixEpoch), null, Encrypted: false) { Content = content };
    }

    /// <summary>
    /// The WAL objects an exact restore of <paramref name="backup"/> replays: its timeline's segments from its start through its
    /// finish (through the newest with <paramref name="withHistory"/>), and the history files of its timeline and those before it;
    /// each with its segment's file name when it is a complete segment (whose block map, if any, is copied too).
    /// </summary>
    /// <exception cref="PgArchiveException">A segment of that range is not in the source (as WAL-G's copy, which refuses a gap):
    /// the destination would list a backup it cannot restore.</exception>
    private static List<(ObjectInfo Info, string? Segment)> WalNeeded(BackupDetail backup, IReadOnlyList<ObjectInfo> walObjects, bool withHistory)
    {
        var segmentSize = BackupDetail.InferSegmentSize([backup]);
        var timeline = backup.Timeline;
        var start = WalSegment.Parse(backup.Info.WalFileName, segmentSize);
        var finish = WalSegment.Containing(new Lsn(Math.Max(backup.FinishLsn.Value, 1) - 1), timeline, segmentSize);
        var needed = new List<(ObjectInfo Info, string? Segment)>();
        var segments = new HashSet<WalSegment>();
        foreach (var info in walObjects)
        {
            var wal = WalArchiveInventory.Describe(info, segmentSize);
            if (wal.Kind == WalFileKind.TimelineHistory
                ? uint.Parse(wal.FileName.AsSpan(0, 8), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture) <= timeline
                : wal.Segment is { } segment && segment.Timeline == timeline && segment >= start && (withHistory || segment <= finish))
            {
                needed.Add((info, wal.Kind == WalFileKind.Segment ? wal.FileName : null));
                if (wal.Kind is WalFileKind.Segment or WalFileKind.PartialSegment)
                {
                    // a .partial counts: wal-fetch falls back to it when the complete segment is missing
                    segments.Add(wal.Segment!.Value);
                }
            }
        }

        var last = withHistory && segments.Count > 0 && segments.Max() > finish ? segments.Max() : finish;
        for (var segment = start; segment <= last; segment = segment.Next())
        {
            if (!segments.Contains(segment))
            {
                throw new PgArchiveException($"Backup {backup.Info.Name} cannot be copied: WAL segment {segment.FileName}, which " +
                    (segment <= finish ? "its restore replays" : "lies between it and the newest segment --with-history copies") +
                    ", is not in the source; nothing was copied.");
            }
        }

        return needed;
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
}
