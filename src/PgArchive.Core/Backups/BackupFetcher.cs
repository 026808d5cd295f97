using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Backups.Delta;
using PgArchive.Diagnostics;
using PgArchive.IO;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// Restores a backup into an empty directory: the tar partitions, then <c>backup_label</c>, then
/// <c>pg_control</c> last (a directory without it is not one PostgreSQL starts), tablespaces back to their
/// locations (or a mapping) with their links, and optionally the recovery settings.
/// </summary>
public sealed class BackupFetcher
{
    private readonly IObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly BackupCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _downloadConcurrency;
    private readonly bool _syncRestoredFiles;

    /// <summary>Creates the service.</summary>
    public BackupFetcher(IObjectStore store, ObjectCodec codec, BackupCatalog catalog, TimeProvider? timeProvider = null, ILogger<BackupFetcher>? logger = null,
        Microsoft.Extensions.Options.IOptions<PgArchiveOptions>? options = null)
    {
        _downloadConcurrency = Math.Max(1, options?.Value.DownloadConcurrency ?? 1);
        _syncRestoredFiles = options?.Value.SyncRestoredFiles ?? true;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _codec = codec ?? throw new ArgumentNullException(nameof(codec));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<BackupFetcher>.Instance;
    }

    /// <summary>Restores the backup.</summary>
    public async Task<BackupFetchResult> FetchAsync(BackupFetchRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await PgArchiveTelemetry.MeasureAsync("backup-fetch", PgArchiveTelemetry.RestoreDuration, null,
            () => FetchCoreAsync(request, cancellationToken),
            (result, activity) =>
            {
                activity?.SetTag("pgarchive.backup", result.BackupName);
                PgArchiveTelemetry.BytesRestored.Add(result.Bytes);
            }).ConfigureAwait(false);
    }

    private async Task<BackupFetchResult> FetchCoreAsync(BackupFetchRequest request, CancellationToken cancellationToken)
    {
        request.Recovery?.Validate();
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.TargetDirectory));
        if (Directory.Exists(target) && !IncompleteRestoreMarker.IsEmptyOrMarkedOnly(target))
        {
            throw new PgArchiveException($"Cannot restore into '{target}': it is not empty. Restore into an empty or new directory.");
        }

        var backup = await _catalog.ResolveAsync(request.BackupName, cancellationToken).ConfigureAwait(false);
        var sentinel = await _catalog.ReadSentinelAsync(backup.Name, cancellationToken).ConfigureAwait(false);
        var tablespaces = ResolveTablespaces(sentinel.Spec, request.TablespaceMapping);
        PrepareEmptyDirectory(target, "the restore target");
        foreach (var (_, directory) in tablespaces)
        {
            PrepareEmptyDirectory(directory, "a tablespace location (map it elsewhere with --tablespace-map OID=DIR)");
        }

        await IncompleteRestoreMarker.WriteAsync(target,
            $"pgarchive backup-fetch of {backup.Name} started at {_time.GetUtcNow():O} and has not finished: do not start PostgreSQL here.",
            cancellationToken).ConfigureAwait(false);
        Log.FetchStarted(_logger, backup.Name, target);
        var chain = await DeltaChain.LoadAsync(_catalog, backup.Name, sentinel, request.ReverseUnpack, cancellationToken).ConfigureAwait(false);
        if (chain.Steps.Count > 1)
        {
            Log.DeltaChain(_logger, backup.Name, string.Join(" → ", chain.Steps.Select(s => s.BackupName)));
        }

        var extractor = new Extractor(target, tablespaces, request.Progress, sentinel.DataCatalogSize > 0 ? sentinel.DataCatalogSize : null,
            _syncRestoredFiles);
        try
        {
            Partition? pgControl = null;
            foreach (var step in chain.Steps)
            {
                var files = await _catalog.ReadFilesMetadataAsync(step.BackupName, cancellationToken).ConfigureAwait(false);
                var tars = await ListTarsAsync(step.BackupName, cancellationToken).ConfigureAwait(false);
                var partitions = tars.Select(key => new Partition(key, step.BackupName, files, step.Filter)).ToList();

                // A backup's partitions hold disjoint files: they are downloaded, decoded and extracted side by side, the
                // largest first, so that the last one to finish is a small one rather than a large one left to decode alone.
                // The steps of a delta chain write through one shared page map: one partition at a time, in order.
                var order = step.Filter is null ? LargestFirst(partitions) : [.. partitions.SkipLast(1)];
                await PartitionPipeline.RunAsync(order.Length, step.Filter is null ? _downloadConcurrency : 1, async (i, ct) =>
                {
                    await ExtractPartitionAsync(extractor, order[i], ct).ConfigureAwait(false);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
                if (step.BackupName == backup.Name)
                {
                    pgControl = partitions[^1] with { Filter = null };
                }
            }

            // pg_control last, alone, once everything else is in place: the restored backup's own (never an increment).
            await ExtractPartitionAsync(extractor, pgControl!, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A failed restore leaves the directories as empty as it found them, never files that look restored, and
            // the target marked with the reason.
            RemoveContents(target);
            foreach (var (_, directory) in tablespaces)
            {
                RemoveContents(directory);
            }

            try
            {
                await IncompleteRestoreMarker.WriteAsync(target, $"pgarchive backup-fetch of {backup.Name} failed: {ex.Message}", CancellationToken.None)
                    .ConfigureAwait(false);
            }
            catch (Exception markerError) when (markerError is IOException or UnauthorizedAccessException)
            {
                // Best effort (a full disk): the original failure is what the caller must see.
            }

            throw;
        }

        foreach (var (oid, directory) in tablespaces)
        {
            var link = Path.Combine(target, "pg_tblspc", oid);
            UnixFiles.CreatePrivateDirectory(Path.GetDirectoryName(link)!);
            if (Directory.Exists(link) && new DirectoryInfo(link).LinkTarget is null)
            {
                Directory.Delete(link);
            }

            File.CreateSymbolicLink(link, directory);
        }

        UnixFiles.CreatePrivateDirectory(Path.Combine(target, "pg_wal", "archive_status"));
        if (request.Recovery is { } recovery)
        {
            await WriteRecoveryAsync(target, backup.Name, recovery, cancellationToken).ConfigureAwait(false);
        }

        if (_syncRestoredFiles)
        {
            // On disk before the marker goes: what is reported restored survives a crash (WALG_TAR_DISABLE_FSYNC skips this).
            var flushing = Stopwatch.StartNew();
            foreach (var directory in tablespaces.Values.Prepend(target))
            {
                Durability.FlushTree(directory);
            }

            Log.RestoreFlushed(_logger, flushing.ElapsedMilliseconds);
        }

        IncompleteRestoreMarker.Remove(target);
        Log.FetchFinished(_logger, backup.Name, extractor.Files, extractor.Bytes);
        return new BackupFetchResult(backup.Name, extractor.Files, extractor.Bytes);
    }

    /// <summary>
    /// The partitions but the last (pg_control), by stored size, largest first (a stable order: equal sizes, or none
    /// recorded by older backups, keep their numbered order).
    /// </summary>
    internal static Partition[] LargestFirst(List<Partition> partitions) =>
        [.. partitions.SkipLast(1).OrderByDescending(p => p.StoredChecksum?.Size ?? 0)];

    private async Task ExtractPartitionAsync(Extractor extractor, Partition partition, CancellationToken cancellationToken)
    {
        var key = partition.Key;
        var decoded = await _codec.OpenVerifiedAsync(_store, key, partition.StoredChecksum, cancellationToken).ConfigureAwait(false);
        await using (decoded.ConfigureAwait(false))
        {
            try
            {
                await extractor.ExtractAsync(TarHeaderGuardStream.Wrap(decoded.Content, key), partition, cancellationToken).ConfigureAwait(false);

                // Read past the tar's end marker to the object's end, so that the decoders' end checks run
                // (compression trailer, libsodium's FINAL chunk, OpenPGP's MDC) and the stored bytes are checked
                // against the checksum recorded at backup-push, before the partition counts as good.
                await decoded.ReadToEndAndVerifyAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
            {
                // Damage in the store, told apart from a wrong key or codec when a checksum was recorded.
                await decoded.VerifyStoredBytesAsync(cancellationToken).ConfigureAwait(false);
                throw new PgArchiveException($"'{key}' is corrupt or was not written with this configuration's encryption: {ex.Message}", ex);
            }
        }

        Log.PartitionExtracted(_logger, key);
    }

    /// <summary>The tar partitions, then the other tars (backup_label), then pg_control last.</summary>
    private async Task<List<string>> ListTarsAsync(string backupName, CancellationToken cancellationToken)
    {
        var prefix = ArchiveLayout.TarPartitionsPrefix(backupName);
        var parts = new List<string>();
        var others = new List<string>();
        string? pgControl = null;
        await foreach (var info in _store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var name = info.Key[prefix.Length..];
            if (name.StartsWith("pg_control.tar", StringComparison.Ordinal))
            {
                pgControl = info.Key;
            }
            else if (name.StartsWith("part_", StringComparison.Ordinal))
            {
                parts.Add(info.Key);
            }
            else if (name.Contains(".tar", StringComparison.Ordinal))
            {
                others.Add(info.Key);
            }
        }

        if (parts.Count == 0 || pgControl is null)
        {
            throw new PgArchiveException($"Backup {backupName} is incomplete in the store: its tar partitions or pg_control are missing under '{prefix}'.");
        }

        return [.. parts, .. others, pgControl];
    }

    private async Task WriteRecoveryAsync(string target, string backupName, RecoveryOptions recovery, CancellationToken cancellationToken)
    {
        var autoConf = Path.Combine(target, "postgresql.auto.conf");
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"\n# Added by pgarchive backup-fetch of {backupName} at {_time.GetUtcNow():O}\n");
        foreach (var (name, value) in recovery.Settings())
        {
            text.Append(CultureInfo.InvariantCulture, $"{name} = '{value.Replace("'", "''", StringComparison.Ordinal)}'\n");
        }

        await File.AppendAllTextAsync(autoConf, text.ToString(), cancellationToken).ConfigureAwait(false);
        UnixFiles.SetMode(autoConf, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        await File.WriteAllBytesAsync(Path.Combine(target, "recovery.signal"), [], cancellationToken).ConfigureAwait(false);
        Log.RecoveryConfigured(_logger, autoConf, string.Join(", ", recovery.Settings().Select(s => s.Name)));
    }

    private static Dictionary<string, string> ResolveTablespaces(TablespaceSpec? spec, IReadOnlyDictionary<string, string> mapping)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var oid in mapping.Keys.Where(k => spec?.Tablespaces.ContainsKey(k) != true))
        {
            throw new PgArchiveConfigurationException($"--tablespace-map names tablespace {oid}, which the backup does not have.");
        }

        if (spec is null)
        {
            return result;
        }

        foreach (var (oid, location) in spec.Tablespaces)
        {
            var directory = mapping.TryGetValue(oid, out var mapped) ? mapped : location.Location;
            result[oid] = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        }

        return result;
    }

    private static void RemoveContents(string directory)
    {
        var root = new DirectoryInfo(directory);
        if (!root.Exists)
        {
            return;
        }

        foreach (var entry in root.EnumerateFileSystemInfos())
        {
            try
            {
                if (entry is DirectoryInfo { LinkTarget: null } subdirectory)
                {
                    subdirectory.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: the original failure is what the caller must see.
            }
        }
    }

    private static void PrepareEmptyDirectory(string directory, string what)
    {
        if (File.Exists(directory))
        {
            throw new PgArchiveException($"Cannot restore into '{directory}' ({what}): it is a file.");
        }

        if (Directory.Exists(directory))
        {
            if (!IncompleteRestoreMarker.IsEmptyOrMarkedOnly(directory))
            {
                throw new PgArchiveException($"Cannot restore into '{directory}' ({what}): it is not empty. Restore into an empty or new directory.");
            }

            return;
        }

        try
        {
            UnixFiles.CreatePrivateDirectory(directory);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new PgArchiveException($"Cannot create '{directory}' ({what}): permission denied.", ex);
        }
    }

    /// <summary>Writes tar entries under the target, refusing any path that would leave it.</summary>
    private sealed class Extractor(
        string target, IReadOnlyDictionary<string, string> tablespaces, IProgress<TransferProgress>? progress, long? expectedBytes, bool startWriteback)
    {
        private long _files;
        private long _bytes;

        public long Files => Interlocked.Read(ref _files);

        public long Bytes => Interlocked.Read(ref _bytes);

        /// <summary>Extracts the tar of <paramref name="partition"/>, checking its files against what its backup recorded.</summary>
        public async Task ExtractAsync(Stream tar, Partition partition, CancellationToken cancellationToken)
        {
            var reader = new TarReader(tar, leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    var destination = Resolve(entry.Name);
                    if (destination is null)
                    {
                        continue;
                    }

                    switch (entry.EntryType)
                    {
                        case TarEntryType.Directory:
                            UnixFiles.CreatePrivateDirectory(destination);
                            break;
                        case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                            await WriteFileAsync(entry, destination, partition, cancellationToken).ConfigureAwait(false);
                            break;
                        default:
                            break; // links and devices are never part of a backup we write
                    }
                }
            }
        }

        private async Task WriteFileAsync(TarEntry entry, string destination, Partition partition, CancellationToken cancellationToken)
        {
            UnixFiles.CreatePrivateDirectory(Path.GetDirectoryName(destination)!);
            var recorded = partition.Files?.Files.GetValueOrDefault("/" + RelativeName(entry.Name))?.XxHash128;
            var hash = recorded is null ? null : new XxHash128();
            var data = entry.DataStream is { } raw ? PassThroughStream.Wrap(raw, leaveOpen: true, hash) : null;
            var written = true;
            await using (data)
            {
                if (partition.Filter is not null)
                {
                    written = await partition.Filter.WriteAsync(entry, data, destination, cancellationToken).ConfigureAwait(false);
                    if (data is not null)
                    {
                        await data.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false); // what the filter skipped, so all of it is checked
                    }
                }
                else
                {
                    // The file's blocks are reserved up front (one fallocate, not an allocation per write), and its writes
                    // run behind the decoding of the next chunk.
                    using var file = File.OpenHandle(destination, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.Asynchronous,
                        preallocationSize: entry.Length);
                    if (data is not null)
                    {
                        await WriteBehindFileCopy.CopyAsync(data, file, startWriteback, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (hash is not null && Convert.ToHexStringLower(hash.GetCurrentHash()) is var actual
                && !string.Equals(actual, recorded, StringComparison.OrdinalIgnoreCase))
            {
                throw new ObjectCorruptException(partition.Key,
                    $"file /{RelativeName(entry.Name)} in it does not match the checksum recorded at backup-push (XXH128 {actual}, recorded {recorded})");
            }

            if (!written)
            {
                return; // not restored from this step: deleted since, or already written by a newer one
            }

            UnixFiles.SetMode(destination, (entry.Mode & (UnixFileMode)0x1FF) | UnixFileMode.UserRead | UnixFileMode.UserWrite);

            File.SetLastWriteTimeUtc(destination, entry.ModificationTime.UtcDateTime);
            Interlocked.Increment(ref _files);
            var bytes = Interlocked.Add(ref _bytes, entry.Length);
            progress?.Report(new TransferProgress(bytes, expectedBytes, entry.Name));
        }

        private static string RelativeName(string name)
        {
            var relative = name.Replace('\\', '/').TrimStart('/');
            while (relative.StartsWith("./", StringComparison.Ordinal))
            {
                relative = relative[2..];
            }

            return relative.TrimEnd('/');
        }

        private string? Resolve(string name)
        {
            var relative = RelativeName(name);
            if (relative.Length == 0 || relative == ".")
            {
                return null;
            }

            if (relative.Split('/').Any(s => s == ".."))
            {
                throw new PgArchiveException($"The backup holds an unsafe path '{name}'; refusing to restore it.");
            }

            var root = target;
            var segments = relative.Split('/');
            if (segments.Length >= 2 && segments[0] == "pg_tblspc" && tablespaces.TryGetValue(segments[1], out var tablespace))
            {
                if (segments.Length == 2)
                {
                    return null; // the link itself is made after extraction
                }

                root = tablespace;
                relative = string.Join('/', segments[2..]);
            }

            var full = Path.GetFullPath(Path.Combine(root, relative));
            if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new PgArchiveException($"The backup holds an unsafe path '{name}'; refusing to restore it.");
            }

            return full;
        }
    }
}

/// <summary>One tar partition to extract, with what its backup recorded of it and how a delta-chain step writes its files.</summary>
/// <param name="Key">The object.</param>
/// <param name="BackupName">The backup it belongs to.</param>
/// <param name="Files">That backup's files_metadata.json, when it has one.</param>
/// <param name="Filter">How a delta-chain step writes its files; null to write them whole.</param>
internal sealed record Partition(string Key, string BackupName, FilesMetadata? Files, ChainFilter? Filter)
{
    /// <summary>The size and XXH128 of the stored object, when backup-push recorded them.</summary>
    public StoredChecksum? StoredChecksum =>
        Files?.TarChecksums?.GetValueOrDefault(Key[ArchiveLayout.TarPartitionsPrefix(BackupName).Length..]);
}
