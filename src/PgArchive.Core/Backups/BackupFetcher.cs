using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
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

    /// <summary>Creates the service.</summary>
    public BackupFetcher(IObjectStore store, ObjectCodec codec, BackupCatalog catalog, TimeProvider? timeProvider = null, ILogger<BackupFetcher>? logger = null)
    {
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
        using var activity = PgArchiveTelemetry.ActivitySource.StartActivity("backup-fetch");
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await FetchCoreAsync(request, cancellationToken).ConfigureAwait(false);
            activity?.SetTag("pgarchive.backup", result.BackupName);
            PgArchiveTelemetry.RestoreDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            PgArchiveTelemetry.BytesRestored.Add(result.Bytes);
            return result;
        }
        catch (Exception ex) when (PgArchiveTelemetry.RecordError("backup-fetch", ex, activity))
        {
            throw;
        }
    }

    private async Task<BackupFetchResult> FetchCoreAsync(BackupFetchRequest request, CancellationToken cancellationToken)
    {
        request.Recovery?.Validate();
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(request.TargetDirectory));
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
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

        Log.FetchStarted(_logger, backup.Name, target);
        var chain = await DeltaChain.LoadAsync(_catalog, backup.Name, sentinel, request.ReverseUnpack, cancellationToken).ConfigureAwait(false);
        if (chain.Steps.Count > 1)
        {
            Log.DeltaChain(_logger, backup.Name, string.Join(" → ", chain.Steps.Select(s => s.BackupName)));
        }

        var extractor = new Extractor(target, tablespaces, request.Progress, sentinel.DataCatalogSize > 0 ? sentinel.DataCatalogSize : null);
        try
        {
            foreach (var step in chain.Steps)
            {
                extractor.Filter = step.Filter;
                foreach (var key in await ListTarsAsync(step.BackupName, cancellationToken).ConfigureAwait(false))
                {
                    var content = await _codec.OpenDecodedAsync(_store, key, cancellationToken).ConfigureAwait(false);
                    await using (content.ConfigureAwait(false))
                    {
                        try
                        {
                            await extractor.ExtractAsync(content, cancellationToken).ConfigureAwait(false);

                            // Read past the tar's end marker to the object's end, so that the decoders' end checks run
                            // (compression trailer, libsodium's FINAL chunk, OpenPGP's MDC) before the partition counts as good.
                            await content.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
                        {
                            throw new PgArchiveException($"'{key}' is corrupt or was not written with this configuration's encryption: {ex.Message}", ex);
                        }
                    }

                    Log.PartitionExtracted(_logger, key);
                }
            }
        }
        catch
        {
            // A failed restore leaves the directories as empty as it found them: never files that look restored.
            RemoveContents(target);
            foreach (var (_, directory) in tablespaces)
            {
                RemoveContents(directory);
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

        Log.FetchFinished(_logger, backup.Name, extractor.Files, extractor.Bytes);
        return new BackupFetchResult(backup.Name, extractor.Files, extractor.Bytes);
    }

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
            if (Directory.EnumerateFileSystemEntries(directory).Any())
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
    private sealed class Extractor(string target, IReadOnlyDictionary<string, string> tablespaces, IProgress<TransferProgress>? progress, long? expectedBytes)
    {
        public long Files { get; private set; }

        /// <summary>How the files of the delta-chain step being extracted are written; null for a lone full backup.</summary>
        public ChainFilter? Filter { get; set; }

        public long Bytes { get; private set; }

        public async Task ExtractAsync(Stream tar, CancellationToken cancellationToken)
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
                            await WriteFileAsync(entry, destination, cancellationToken).ConfigureAwait(false);
                            break;
                        default:
                            break; // links and devices are never part of a backup we write
                    }
                }
            }
        }

        private async Task WriteFileAsync(TarEntry entry, string destination, CancellationToken cancellationToken)
        {
            UnixFiles.CreatePrivateDirectory(Path.GetDirectoryName(destination)!);
            if (Filter is not null)
            {
                if (!await Filter.WriteAsync(entry, destination, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            else
            {
                var file = new FileStream(destination, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                await using (file.ConfigureAwait(false))
                {
                    if (entry.DataStream is { } data)
                    {
                        await data.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            UnixFiles.SetMode(destination, (entry.Mode & (UnixFileMode)0x1FF) | UnixFileMode.UserRead | UnixFileMode.UserWrite);

            File.SetLastWriteTimeUtc(destination, entry.ModificationTime.UtcDateTime);
            Files++;
            Bytes += entry.Length;
            progress?.Report(new TransferProgress(Bytes, expectedBytes, entry.Name));
        }

        private string? Resolve(string name)
        {
            var relative = name.Replace('\\', '/').TrimStart('/');
            while (relative.StartsWith("./", StringComparison.Ordinal))
            {
                relative = relative[2..];
            }

            relative = relative.TrimEnd('/');
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
