using System.Collections.Concurrent;
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
using PgArchive.Postgres;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// Restores a backup into an empty directory: the tar partitions, then <c>backup_label</c>, then
/// <c>pg_control</c> last (a directory without it is not one PostgreSQL starts), tablespaces back to their
/// locations (or a mapping) with their links, and optionally the recovery settings. The restore succeeds only when
/// every partition files_metadata.json records was read and every file it records was restored (or, in a delta
/// chain, deliberately left to another step); the names backup-fetch writes itself are never taken from an archive,
/// and the incomplete-restore marker goes only once everything else is in place.
/// </summary>
public sealed class BackupFetcher
{
    /// <summary>Names backup-fetch writes itself at the top of the target: never taken from an archive.</summary>
    private static readonly string[] OwnNames = ["recovery.signal", "standby.signal", "recovery.conf", IncompleteRestoreMarker.FileName, RecoveryOptions.SettingsFileName];

    private const string NoRecoveryAdvice = "restore it without recovery settings and configure its recovery yourself";

    private const string TablespaceLocation = "a tablespace location (map it elsewhere with --tablespace-map OID=DIR)";

    private const string PgControlKey = "/global/pg_control";

    private readonly IObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly BackupCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _downloadConcurrency;
    private readonly bool _syncRestoredFiles;

    /// <summary>Creates the service.</summary>
    public BackupFetcher(IObjectStore store, ObjectCodec codec, BackupCatalog catalog, Microsoft.Extensions.Options.IOptions<PgArchiveOptions>? options = null,
        TimeProvider? timeProvider = null, ILogger<BackupFetcher>? logger = null)
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
        var selected = FileSelection(request);
        var ownNames = OwnNamesWith(request.AddedFiles);
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.TargetDirectory));
        var interrupted = new List<(string Directory, string Marker)>();
        CheckRestorable(target, "the restore target", request.RestartInterrupted, interrupted);

        var backup = await _catalog.ResolveAsync(request.BackupName, cancellationToken).ConfigureAwait(false);
        var sentinel = await _catalog.ReadSentinelAsync(backup.Name, cancellationToken).ConfigureAwait(false);
        sentinel.Spec?.Validate(ArchiveLayout.SentinelKey(backup.Name));
        if (request.Recovery is not null && sentinel.PgVersion > 0)
        {
            // Before a byte is written: the recovery settings could not be written for it at the end.
            PostgresVersion.EnsureSupported(sentinel.PgVersion, $"Backup {backup.Name}", NoRecoveryAdvice);
        }

        var tablespaces = ResolveTablespaces(target, sentinel.Spec, request.TablespaceMapping);
        foreach (var (_, directory) in tablespaces)
        {
            CheckRestorable(directory, TablespaceLocation, request.RestartInterrupted, interrupted);
        }

        var chain = await DeltaChain.LoadAsync(_catalog, backup.Name, sentinel, new ChainFileWriter(request.ReverseUnpack, _syncRestoredFiles), cancellationToken)
            .ConfigureAwait(false);
        var steps = await PlanAsync(backup.Name, sentinel, chain, cancellationToken).ConfigureAwait(false);

        // Everything checked that can be before a byte is written: only now is an interrupted restore cleared.
        foreach (var (directory, marker) in interrupted)
        {
            Log.InterruptedRestoreCleared(_logger, directory, marker);
            RemoveContents(directory, bestEffort: false);
        }

        CreateDirectory(target, "the restore target");
        foreach (var (_, directory) in tablespaces)
        {
            CreateDirectory(directory, TablespaceLocation);
        }

        var started = $"pgarchive backup-fetch of {backup.Name} started at {_time.GetUtcNow():O} and has not finished: do not start PostgreSQL here.";
        foreach (var directory in tablespaces.Values.Prepend(target))
        {
            await IncompleteRestoreMarker.WriteAsync(directory, started, cancellationToken).ConfigureAwait(false);
        }

        Log.FetchStarted(_logger, backup.Name, target);
        if (chain.Steps.Count > 1)
        {
            Log.DeltaChainRestoring(_logger, backup.Name, string.Join(" → ", chain.Steps.Select(s => s.BackupName)));
        }

        var targetStep = steps.Single(s => s.Step.BackupName == backup.Name);
        // WAL-E kept pg_control inside a partition: it is written under another name and put in place once all is restored.
        var holdPgControl = WalE.WalEBackup.IsWalEName(backup.Name);
        var extractor = new Extractor(target, tablespaces, ownNames, targetStep.Files, _logger, request.Progress,
            sentinel.DataCatalogSize > 0 ? sentinel.DataCatalogSize : null, _syncRestoredFiles, holdPgControl, selected);
        try
        {
            foreach (var (step, _, partitions) in steps)
            {
                // A backup's partitions hold disjoint files: they are downloaded, decoded and extracted side by side, the
                // largest first, so that the last one to finish is a small one rather than a large one left to decode alone.
                // So are those of each backup of a delta chain, the backups one after the other.
                var order = LargestFirst(partitions);
                if (request.SkipRedundantTars)
                {
                    // decided now, once the newer backups of the chain are written: what they wrote whole is not needed again
                    order = [.. order.Where(p => extractor.HoldsFileToRestore(p) || SkippedAsRedundant(p))];
                }

                await PartitionPipeline.RunAsync(order.Length, _downloadConcurrency, async (i, ct) =>
                {
                    await ExtractPartitionAsync(extractor, order[i], ct).ConfigureAwait(false);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
            }

            // pg_control last, alone, once everything else is in place: the restored backup's own (never an increment).
            await ExtractPartitionAsync(extractor, targetStep.Partitions[^1] with { Filter = null }, cancellationToken).ConfigureAwait(false);
            if (holdPgControl && (selected is null || selected(PgControlKey)))
            {
                extractor.PlaceHeldPgControl(backup.Name);
            }

            extractor.CheckComplete(backup.Name);
            await CompleteAsync(target, backup.Name, sentinel.PgVersion, tablespaces, request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A failed restore leaves the directories as empty as it found them, never files that look restored, and
            // the target marked with the reason.
            foreach (var directory in tablespaces.Values.Prepend(target))
            {
                RemoveContents(directory, bestEffort: true);
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

        // Last, once everything is restored, configured and on disk: the target's marker after the tablespaces'.
        foreach (var directory in tablespaces.Values.Append(target))
        {
            IncompleteRestoreMarker.Remove(directory);
        }

        Log.FetchFinished(_logger, backup.Name, extractor.Files, extractor.Bytes);
        return new BackupFetchResult(backup.Name, extractor.Files, extractor.Bytes);
    }

    /// <summary>
    /// The files <see cref="BackupFetchRequest.FileMask"/> selects, by their files_metadata.json key, as WAL-G's
    /// GetFilesToUnwrap selects them: its names of backup_label and tablespace_map have no <c>/</c>, so the mask (matched
    /// after a <c>/</c>, <c>utility.SelectMatchingFiles</c>) never matches them. Null when every file is restored.
    /// </summary>
    /// <exception cref="PgArchiveConfigurationException">The mask is malformed, recovery is asked for with it, or
    /// <see cref="BackupFetchRequest.SkipRedundantTars"/> without <see cref="BackupFetchRequest.ReverseUnpack"/>.</exception>
    private static Func<string, bool>? FileSelection(BackupFetchRequest request)
    {
        if (request.SkipRedundantTars && !request.ReverseUnpack)
        {
            throw new PgArchiveConfigurationException(
                "--skip-redundant-tars works with reverse unpack (the default; --reverse-unpack), as in WAL-G, which ignores it otherwise: " +
                "leave out --forward-unpack (or WALG_USE_REVERSE_UNPACK=false).");
        }

        if (request.FileMask is not { } mask)
        {
            return null;
        }

        var pattern = "/" + mask;
        if (!GoFilePattern.IsValid(pattern))
        {
            throw new PgArchiveConfigurationException(
                $"--mask '{mask}' is not a valid pattern (Go's filepath.Match: *, ?, [a-z], [^a-z], \\ to escape; a class must be closed).");
        }

        if (request.Recovery is not null)
        {
            throw new PgArchiveConfigurationException(
                "--mask restores part of a backup, which PostgreSQL cannot start: leave out the recovery settings (--recovery-target-*, --recovery).");
        }

        return key => key is not ("/" + WalGTarNames.BackupLabel or "/" + WalGTarNames.TablespaceMap) && GoFilePattern.IsMatch(pattern, key);
    }

    private bool SkippedAsRedundant(Partition partition)
    {
        Log.PartitionSkipped(_logger, partition.Key);
        return false;
    }

    /// <summary>
    /// The backups of the chain with what they recorded and their partitions, refusing a backup whose files_metadata.json
    /// is missing although its sentinel does not say it was left out, or a recorded partition missing from the store.
    /// </summary>
    private async Task<List<RestoreStep>> PlanAsync(string backupName, BackupSentinel sentinel, DeltaChain chain, CancellationToken cancellationToken)
    {
        var steps = new List<RestoreStep>(chain.Steps.Count);
        foreach (var step in chain.Steps)
        {
            var stepSentinel = step.BackupName == backupName ? sentinel : await _catalog.ReadSentinelAsync(step.BackupName, cancellationToken).ConfigureAwait(false);
            var files = await _catalog.ReadRecordedFilesAsync(step.BackupName, stepSentinel, cancellationToken).ConfigureAwait(false);

            var tars = await ListTarsAsync(step.BackupName, cancellationToken).ConfigureAwait(false);
            var partitions = tars.Select(key => new Partition(key, step.BackupName, files, step.Filter)).ToList();
            var stored = partitions.Select(p => p.ObjectName).ToHashSet(StringComparer.Ordinal);
            foreach (var objectName in (files?.TarFileSets.Keys ?? Enumerable.Empty<string>()).Where(t => !stored.Contains(t)).Order(StringComparer.Ordinal))
            {
                var recorded = Partition.RecordedFiles(files, objectName).ToList();
                if (recorded.Count > 0)
                {
                    throw new PgArchiveException($"Backup {step.BackupName} is incomplete in the store: its tar partition " +
                        $"'{ArchiveLayout.TarPartitionsPrefix(step.BackupName)}{objectName}' is missing ({recorded.Count} files recorded in it in files_metadata.json, " +
                        $"the first {recorded[0]}).");
                }
            }

            steps.Add(new RestoreStep(step, files, partitions));
        }

        return steps;
    }

    /// <summary>
    /// After extraction, before the marker goes: tablespace links, <c>pg_wal/archive_status</c>, the recovery settings,
    /// the added files, and the flush to disk.
    /// </summary>
    private async Task CompleteAsync(string target, string backupName, int sentinelVersion, Dictionary<string, string> tablespaces, BackupFetchRequest request,
        CancellationToken cancellationToken)
    {
        foreach (var (oid, directory) in tablespaces)
        {
            // pg_tblspc/<oid> with <oid> a validated OID: inside the target, where the extraction left nothing.
            var link = Path.Combine(target, "pg_tblspc", oid);
            UnixFiles.CreatePrivateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, directory);
        }

        UnixFiles.CreatePrivateDirectory(Path.Combine(target, "pg_wal", "archive_status"));
        if (request.Recovery is { } recovery)
        {
            await WriteRecoveryAsync(target, backupName, sentinelVersion, recovery, cancellationToken).ConfigureAwait(false);
        }

        foreach (var file in request.AddedFiles)
        {
            await WriteAddedFileAsync(target, file, cancellationToken).ConfigureAwait(false);
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
        HashSet<string> seen;
        var decoded = await _codec.OpenVerifiedAsync(_store, key, partition.StoredChecksum, cancellationToken).ConfigureAwait(false);
        await using (decoded.ConfigureAwait(false))
        {
            try
            {
                seen = await extractor.ExtractAsync(TarHeaderGuardStream.Wrap(decoded.Content, key), partition, cancellationToken).ConfigureAwait(false);

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

        // Every file recorded in it must have been in it: a partition cut short, or replaced by one holding less, is
        // consistent in itself (its checksum recorded beside it can be forged with it) but is not the backup.
        var missing = Partition.RecordedFiles(partition.Files, partition.ObjectName).Where(p => !seen.Contains(RelativeName(p))).ToList();
        if (missing.Count > 0)
        {
            throw new ObjectCorruptException(key, $"it does not hold {missing[0]}" + (missing.Count > 1 ? $" nor {missing.Count - 1} more files" : "") +
                " that files_metadata.json records in it");
        }

        extractor.Restored(seen);
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

        var walE = WalE.WalEBackup.IsWalEName(backupName); // WAL-E's pg_control is in one of its parts
        if (parts.Count == 0 || (pgControl is null && !walE))
        {
            throw new PgArchiveException($"Backup {backupName} is incomplete in the store: its tar partitions or pg_control are missing under '{prefix}'.");
        }

        return pgControl is null ? [.. parts, .. others] : [.. parts, .. others, pgControl];
    }

    /// <summary>
    /// The recovery settings in the form the restored cluster's version reads (its <c>PG_VERSION</c>, else the
    /// sentinel's): from PostgreSQL 12 on appended to <c>postgresql.auto.conf</c> with <c>recovery.signal</c> or
    /// <c>standby.signal</c>; before 12 in <c>recovery.conf</c> (mode 0600), which those versions read on start.
    /// </summary>
    private async Task WriteRecoveryAsync(string target, string backupName, int sentinelVersion, RecoveryOptions recovery, CancellationToken cancellationToken)
    {
        var version = PostgresVersion.OfDataDirectory(target) ?? (sentinelVersion > 0 ? sentinelVersion : PostgresVersion.SignalFiles);
        PostgresVersion.EnsureSupported(version, $"Backup {backupName}", NoRecoveryAdvice);
        var settings = recovery.Settings(version).ToList();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"\n# Added by pgarchive backup-fetch of {backupName} at {_time.GetUtcNow():O}\n");
        foreach (var (name, value) in settings)
        {
            text.Append(RecoveryOptions.ConfigurationLine(name, value)).Append('\n');
        }

        var configFile = Path.Combine(target, version < PostgresVersion.SignalFiles ? "recovery.conf" : "postgresql.auto.conf");
        await File.AppendAllTextAsync(configFile, text.ToString(), cancellationToken).ConfigureAwait(false);
        UnixFiles.SetMode(configFile, UnixFileMode.UserRead | UnixFileMode.UserWrite); // primary_conninfo, restore_command's paths
        if (version >= PostgresVersion.SignalFiles)
        {
            await File.WriteAllBytesAsync(Path.Combine(target, recovery.Standby ? "standby.signal" : "recovery.signal"), [], cancellationToken).ConfigureAwait(false);
        }

        Log.RecoveryConfigured(_logger, configFile, string.Join(", ", settings.Select(s => s.Name)));
    }

    private static async Task WriteAddedFileAsync(string target, AddedFile file, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // e.g. settings with storage credentials
        }

        var stream = new FileStream(Path.Combine(target, file.Name), options);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(file.Content, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The names never taken from an archive: backup-fetch's own and those of the files the caller adds.</summary>
    private static HashSet<string> OwnNamesWith(IReadOnlyList<AddedFile> added)
    {
        ArgumentNullException.ThrowIfNull(added);
        var names = new HashSet<string>(OwnNames, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in added)
        {
            ArgumentNullException.ThrowIfNull(file, nameof(added));
            if (string.IsNullOrEmpty(file.Name) || file.Name is "." or ".." || file.Name.AsSpan().IndexOfAny('/', '\\', '\0') >= 0)
            {
                throw new ArgumentException($"AddedFiles: '{file.Name}' is not a plain file name.", nameof(added));
            }

            if (file.Name != RecoveryOptions.SettingsFileName && OwnNames.Contains(file.Name))
            {
                throw new ArgumentException($"AddedFiles: backup-fetch writes {file.Name} itself.", nameof(added));
            }

            if (!seen.Add(file.Name))
            {
                throw new ArgumentException($"AddedFiles: {file.Name} is given twice.", nameof(added));
            }

            names.Add(file.Name);
        }

        return names;
    }

    /// <summary>
    /// Tablespace OID → the directory it is restored into: where the (validated) Spec says, or where the mapping says.
    /// Each is an absolute, normalised path, neither the target nor a directory holding it, and no two overlap.
    /// </summary>
    private static Dictionary<string, string> ResolveTablespaces(string target, TablespaceSpec? spec, IReadOnlyDictionary<string, string> mapping)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (oid, directory) in mapping)
        {
            if (spec?.Tablespaces.ContainsKey(oid) != true)
            {
                throw new PgArchiveConfigurationException($"--tablespace-map names tablespace {oid}, which the backup does not have.");
            }

            if (TablespaceSpec.NormalisedDirectory(directory) is null)
            {
                throw new PgArchiveConfigurationException(
                    $"--tablespace-map {oid}={directory}: the directory must be an absolute path without '.', '..' or empty segments.");
            }
        }

        foreach (var (oid, location) in spec?.Tablespaces ?? [])
        {
            var mapped = mapping.TryGetValue(oid, out var mappedTo);
            var directory = TablespaceSpec.NormalisedDirectory(mapped ? mappedTo! : location.Location)!;
            var source = mapped ? $"--tablespace-map {oid}" : $"Spec.{oid}.loc";
            var clash = IsWithin(target, directory) ? "the restore target"
                : result.FirstOrDefault(r => IsWithin(r.Value, directory) || IsWithin(directory, r.Value)) is { Key: not null } other ? $"the location of tablespace {other.Key}"
                : null;
            if (clash is not null)
            {
                var message = $"Cannot restore tablespace {oid} into '{directory}' ({source}): it overlaps {clash}.";
                throw mapped ? new PgArchiveConfigurationException(message) : new PgArchiveException(message);
            }

            result[oid] = directory;
        }

        return result;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="directory"/> or inside it (both full, normalised).</summary>
    private static bool IsWithin(string path, string directory) =>
        string.Equals(path, directory, StringComparison.Ordinal) || path.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>
    /// Deletes what <paramref name="directory"/> holds, never following a symbolic link out of it; best effort (the
    /// cleanup after a failure, whose original error is what counts) or every error thrown.
    /// </summary>
    private static void RemoveContents(string directory, bool bestEffort)
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
            catch (Exception ex) when (bestEffort && ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: the original failure is what the caller must see.
            }
        }
    }

    /// <summary>
    /// Refuses to restore into <paramref name="directory"/> unless it is absent, empty or holds only the marker of a
    /// failed restore. One that holds the marker beside other files is an interrupted restore: refused, saying so, or
    /// with <paramref name="restartInterrupted"/> added to <paramref name="interrupted"/> to be emptied.
    /// </summary>
    private static void CheckRestorable(string directory, string what, bool restartInterrupted, List<(string Directory, string Marker)> interrupted)
    {
        if (File.Exists(directory))
        {
            throw new PgArchiveException($"Cannot restore into '{directory}' ({what}): it is a file.");
        }

        if (!Directory.Exists(directory) || IncompleteRestoreMarker.IsEmptyOrMarkedOnly(directory))
        {
            return;
        }

        if (IncompleteRestoreMarker.Read(directory) is not { } marker)
        {
            throw new PgArchiveException($"Cannot restore into '{directory}' ({what}): it is not empty. Restore into an empty or new directory.");
        }

        var holds = $"it holds an interrupted restore ({IncompleteRestoreMarker.FileName} says: \"{marker}\")";
        if (File.Exists(Path.Combine(directory, "postmaster.pid")))
        {
            throw new PgArchiveException($"Cannot restore into '{directory}' ({what}): {holds}, and a postmaster.pid: a server may run there. " +
                "Stop it and empty the directory yourself.");
        }

        if (!restartInterrupted)
        {
            throw new PgArchiveException($"Cannot restore into '{directory}' ({what}): {holds}. " +
                "Rerun with --restart-interrupted to delete what it holds and restore again, or empty it yourself.");
        }

        interrupted.Add((directory, marker));
    }

    private static void CreateDirectory(string directory, string what)
    {
        try
        {
            UnixFiles.CreatePrivateDirectory(directory);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new PgArchiveException($"Cannot create '{directory}' ({what}): permission denied.", ex);
        }
    }

    /// <summary>The path of a tar member relative to the data directory: no leading '/' or './', no trailing '/'.</summary>
    internal static string RelativeName(string name)
    {
        var relative = name.Replace('\\', '/').TrimStart('/');
        while (relative.StartsWith("./", StringComparison.Ordinal))
        {
            relative = relative[2..];
        }

        return relative.TrimEnd('/');
    }

    /// <summary>One backup of the chain to extract, with its files_metadata.json and its partitions (pg_control last).</summary>
    private sealed record RestoreStep(ChainStep Step, FilesMetadata? Files, List<Partition> Partitions);

    /// <summary>
    /// Writes tar entries under the target, refusing any path that would leave it and skipping the names backup-fetch
    /// writes itself; keeps track of the restored backup's recorded files not yet found in a partition.
    /// </summary>
    private sealed class Extractor(
        string target, IReadOnlyDictionary<string, string> tablespaces, IReadOnlySet<string> ownNames, FilesMetadata? recorded, ILogger logger,
        IProgress<TransferProgress>? progress, long? expectedBytes, bool startWriteback, bool holdPgControl = false, Func<string, bool>? selected = null)
    {
        private const string PgControl = "global/pg_control";
        private const string HeldPgControl = "global/pg_control.pgarchive-restoring";

        private readonly ConcurrentDictionary<string, string> _outstanding = new(
            (recorded?.Files.Keys ?? Enumerable.Empty<string>()).Where(p => selected is null || selected(WalGTarNames.Key(p)))
                .Select(p => KeyValuePair.Create(RelativeName(p), p)), StringComparer.Ordinal);

        private long _files;
        private long _bytes;

        public long Files => Interlocked.Read(ref _files);

        public long Bytes => Interlocked.Read(ref _bytes);

        /// <summary>
        /// Extracts the tar of <paramref name="partition"/>, checking its files against what its backup recorded; returns
        /// the names of its members (relative, see <see cref="RelativeName"/>), written or not.
        /// </summary>
        public async Task<HashSet<string>> ExtractAsync(Stream tar, Partition partition, CancellationToken cancellationToken)
        {
            var members = new HashSet<string>(StringComparer.Ordinal);
            var reader = new TarReader(tar, leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    var relative = RelativeName(entry.Name);
                    members.Add(relative);
                    if (ownNames.Contains(relative))
                    {
                        // e.g. standby.signal in a backup of a standby: restore decides the recovery mode itself
                        Log.OwnNameSkipped(logger, entry.Name, partition.Key);
                        continue;
                    }

                    var destination = Resolve(entry.Name);
                    if (destination is null)
                    {
                        continue;
                    }

                    switch (entry.EntryType)
                    {
                        case TarEntryType.Directory:
                            UnixFiles.CreateDirectory(destination, RestoredMode(entry.Mode, directory: true));
                            UnixFiles.SetMode(destination, RestoredMode(entry.Mode, directory: true)); // made earlier for a file in it, or narrowed by the umask
                            break;
                        case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                            await WriteFileAsync(entry, destination, partition, cancellationToken).ConfigureAwait(false);
                            break;
                        default:
                            break; // links and devices are never part of a backup we write
                    }
                }
            }

            return members;
        }

        /// <summary>Counts the members of a partition found complete as restored.</summary>
        public void Restored(HashSet<string> members)
        {
            foreach (var member in members)
            {
                _outstanding.TryRemove(member, out _);
            }
        }

        /// <summary>
        /// Once every partition is extracted: every file the restored backup's files_metadata.json records was found in
        /// one, and the directory has the two files no restore works without.
        /// </summary>
        /// <summary>
        /// Whether <paramref name="partition"/> holds a file still to restore, as its backup's files_metadata.json lists
        /// its files (WAL-G's shouldUnwrapTar): one selected and, in a delta chain, still needed. True when it lists none.
        /// </summary>
        public bool HoldsFileToRestore(Partition partition)
        {
            if (partition.Files?.TarFileSets.GetValueOrDefault(partition.ObjectName) is not { } names)
            {
                return true;
            }

            return names.Any(name =>
            {
                var key = WalGTarNames.Key(name);
                return (selected is null || selected(key)) && (partition.Filter is null || partition.Filter.Needs(key, Resolve(name)));
            });
        }

        public void CheckComplete(string backupName)
        {
            if (!_outstanding.IsEmpty)
            {
                var missing = _outstanding.Values.Order(StringComparer.Ordinal).ToList();
                throw new PgArchiveException($"Backup {backupName} is incomplete: {missing[0]}" + (missing.Count > 1 ? $" and {missing.Count - 1} more files" : "") +
                    ", recorded in its files_metadata.json, are in none of the tar partitions restored.");
            }

            foreach (var required in selected is null ? ["global/pg_control", "backup_label"] : Array.Empty<string>())
            {
                if (!File.Exists(Path.Combine(target, required)))
                {
                    throw new PgArchiveException($"Backup {backupName} is incomplete: its tar partitions hold no {required}, without which PostgreSQL cannot start from it.");
                }
            }
        }

        /// <summary>
        /// The mode of a restored file or directory: what the tar records, never wider than PostgreSQL's with group
        /// access (0750), and always the owner's read and write (and search, for a directory).
        /// </summary>
        private static UnixFileMode RestoredMode(UnixFileMode recorded, bool directory = false) =>
            (recorded & UnixFiles.GroupAccess) | UnixFileMode.UserRead | UnixFileMode.UserWrite | (directory ? UnixFileMode.UserExecute : 0);

        private async Task WriteFileAsync(TarEntry entry, string destination, Partition partition, CancellationToken cancellationToken)
        {
            if (selected is not null && !selected(WalGTarNames.Key(entry.Name)))
            {
                return; // not asked for (--mask)
            }

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

            UnixFiles.SetMode(destination, RestoredMode(entry.Mode));

            File.SetLastWriteTimeUtc(destination, entry.ModificationTime.UtcDateTime);
            Interlocked.Increment(ref _files);
            var bytes = Interlocked.Add(ref _bytes, entry.Length);
            progress?.Report(new TransferProgress(bytes, expectedBytes, entry.Name));
        }

        /// <summary>Puts the held pg_control in place: the last file of the restore to appear.</summary>
        public void PlaceHeldPgControl(string backupName)
        {
            var held = Path.Combine(target, HeldPgControl);
            if (!File.Exists(held))
            {
                throw new PgArchiveException($"Backup {backupName} holds no {PgControl} in its tar partitions: it is incomplete and cannot be restored.");
            }

            File.Move(held, Path.Combine(target, PgControl));
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

            if (holdPgControl && relative == PgControl)
            {
                relative = HeldPgControl;
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
    /// <summary>The object's name under the backup's <c>tar_partitions/</c> (<c>part_001.tar.lz4</c>).</summary>
    public string ObjectName => Key[ArchiveLayout.TarPartitionsPrefix(BackupName).Length..];

    /// <summary>The size and XXH128 of the stored object, when backup-push recorded them.</summary>
    public StoredChecksum? StoredChecksum => Files?.TarChecksums?.GetValueOrDefault(ObjectName);

    /// <summary>
    /// The files <paramref name="files"/> records in the partition <paramref name="objectName"/> that must be found in
    /// it: those its <c>Files</c> lists and not as <c>IsSkipped</c> (left to the base of a delta). WAL-G lists a file in
    /// <c>TarFileSets</c> before reading it, so one dropped meanwhile is there but in no tar and not in <c>Files</c>.
    /// </summary>
    public static IEnumerable<string> RecordedFiles(FilesMetadata? files, string objectName) =>
        files?.TarFileSets.GetValueOrDefault(objectName)?.Where(p => files.Files.TryGetValue(p, out var file) && !file.IsSkipped) ?? [];
}
