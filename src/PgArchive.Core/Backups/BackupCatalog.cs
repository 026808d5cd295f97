using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Backups.Delta;
using PgArchive.Diagnostics;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// The backups in the archive: those whose sentinel is stored. LATEST is the backup whose sentinel was
/// stored last, as WAL-G chooses it.
/// </summary>
public sealed partial class BackupCatalog(IObjectStore store, ILogger<BackupCatalog>? logger = null)
{
    private readonly IObjectStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly ILogger _logger = logger ?? NullLogger<BackupCatalog>.Instance;

    /// <summary>Every complete backup, oldest sentinel first.</summary>
    public async Task<IReadOnlyList<BackupInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var backups = new List<BackupInfo>();
        await foreach (var info in _store.ListAsync(ArchiveLayout.BaseBackupsPrefix, cancellationToken).ConfigureAwait(false))
        {
            var rest = info.Key[ArchiveLayout.BaseBackupsPrefix.Length..];
            if (rest.Contains('/', StringComparison.Ordinal) || !rest.EndsWith(ArchiveLayout.SentinelSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            var name = rest[..^ArchiveLayout.SentinelSuffix.Length];
            if (BackupName.IsValid(name))
            {
                backups.Add(new BackupInfo(name, info.LastModified, name.Substring(5, 24)));
            }
        }

        return [.. backups.OrderBy(b => b.LastModified).ThenBy(b => b.Name, StringComparer.Ordinal)];
    }

    /// <summary>The backup named <paramref name="nameOrLatest"/>, or the newest for <c>LATEST</c>.</summary>
    /// <exception cref="BackupNotFoundException">No such backup, or no backup at all for LATEST.</exception>
    public async Task<BackupInfo> ResolveAsync(string nameOrLatest, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrLatest);
        var latest = string.Equals(nameOrLatest, BackupName.Latest, StringComparison.Ordinal);
        if (!latest && !BackupName.IsValid(nameOrLatest))
        {
            throw new BackupNotFoundException($"'{nameOrLatest}' is not a backup name (expected LATEST or base_ followed by 24 hexadecimal digits).");
        }

        var backups = await ListAsync(cancellationToken).ConfigureAwait(false);
        if (latest)
        {
            return backups.Count > 0 ? backups[^1]
                : throw new BackupNotFoundException("There is no backup in the archive yet: run backup-push first.");
        }

        return backups.FirstOrDefault(b => b.Name == nameOrLatest)
            ?? throw new BackupNotFoundException($"Backup '{nameOrLatest}' does not exist in the archive; backup-list shows the backups there are.");
    }

    /// <summary>Reads a backup's sentinel.</summary>
    /// <exception cref="BackupNotFoundException">The backup has no sentinel.</exception>
    /// <exception cref="ObjectCorruptException">The sentinel is not one (too large, not JSON, a field missing or of the wrong type).</exception>
    public async Task<BackupSentinel> ReadSentinelAsync(string backupName, CancellationToken cancellationToken = default)
    {
        var key = ArchiveLayout.SentinelKey(backupName);
        if (WalE.WalEBackup.IsWalEName(backupName))
        {
            return await ReadWalESentinelAsync(backupName, key, cancellationToken).ConfigureAwait(false);
        }

        return await StoredJson.ReadAsync(_store, key, PgArchiveJsonContext.Default.BackupSentinel, BackupJsonKinds.Sentinel, s => s.Defect(), cancellationToken)
                .ConfigureAwait(false)
            ?? throw new BackupNotFoundException($"Backup '{backupName}' has no sentinel: it is incomplete or was deleted.");
    }

    /// <summary>Reads a backup's metadata.json, or null when it has none.</summary>
    /// <exception cref="ObjectCorruptException">It is not one (too large, not JSON, a field of the wrong type).</exception>
    public Task<BackupMetadata?> ReadMetadataAsync(string backupName, CancellationToken cancellationToken = default) =>
        StoredJson.ReadAsync(_store, ArchiveLayout.MetadataKey(backupName), PgArchiveJsonContext.Default.BackupMetadata, BackupJsonKinds.Metadata, null, cancellationToken);

    /// <summary>Reads a backup's files_metadata.json, or null when it has none.</summary>
    /// <exception cref="ObjectCorruptException">It is not one (too large, not JSON, a field missing or of the wrong type).</exception>
    public Task<FilesMetadata?> ReadFilesMetadataAsync(string backupName, CancellationToken cancellationToken = default) =>
        StoredJson.ReadAsync(_store, ArchiveLayout.FilesMetadataKey(backupName), PgArchiveJsonContext.Default.FilesMetadata, BackupJsonKinds.FilesMetadata,
            f => f.Defect(), cancellationToken);

    /// <summary>
    /// What a backup recorded of its files, as WAL-G's restore takes it: its files_metadata.json, else the list older WAL-G
    /// kept in the sentinel; null when it recorded none (taken with <c>FilesMetadataDisabled</c>, or by WAL-G before
    /// sentinel version 2, or by WAL-E: those are restored without the list).
    /// </summary>
    /// <exception cref="PgArchiveException">files_metadata.json is missing although the sentinel (version 2 or later, without
    /// <c>FilesMetadataDisabled</c>) says it was written.</exception>
    /// <exception cref="ObjectCorruptException">files_metadata.json is not one.</exception>
    public async Task<FilesMetadata?> ReadRecordedFilesAsync(string backupName, BackupSentinel sentinel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sentinel);
        if (sentinel.FilesMetadataDisabled)
        {
            return null;
        }

        var files = await ReadFilesMetadataAsync(backupName, cancellationToken).ConfigureAwait(false) ?? sentinel.LegacyFilesMetadata();
        return files is null && sentinel.Version >= BackupSentinel.CurrentVersion
            ? throw new PgArchiveException($"Backup {backupName} is incomplete in the store: '{ArchiveLayout.FilesMetadataKey(backupName)}' is missing, " +
                $"although its sentinel (version {sentinel.Version}) does not say it was left out (FilesMetadataDisabled).")
            : files;
    }

    /// <summary>
    /// The delta chain of <paramref name="backupName"/> (whose sentinel is <paramref name="sentinel"/>), each base's sentinel read from the store.
    /// A chain that loops or whose base is missing or unreadable comes back with its <see cref="BackupChain.Problem"/>.
    /// </summary>
    public Task<BackupChain> ReadChainAsync(string backupName, BackupSentinel sentinel, CancellationToken cancellationToken = default) =>
        BackupChain.WalkAsync(backupName, sentinel, async (name, ct) =>
        {
            try
            {
                return await ReadSentinelAsync(name, ct).ConfigureAwait(false);
            }
            catch (BackupNotFoundException)
            {
                return null;
            }
        }, cancellationToken);

    /// <summary>A backup with its sentinel and metadata (built from the sentinel when metadata.json is missing).</summary>
    public async Task<BackupDetail> GetDetailAsync(BackupInfo backup, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backup);
        var sentinel = await ReadSentinelAsync(backup.Name, cancellationToken).ConfigureAwait(false);
        var metadata = await ReadMetadataAsync(backup.Name, cancellationToken).ConfigureAwait(false) ?? BackupDetail.MetadataFrom(sentinel);
        return new BackupDetail(backup, sentinel, metadata);
    }

    /// <summary>
    /// Every complete backup with its details and delta chain, oldest sentinel first (<c>backup-list --detail</c>, retention,
    /// wal-show, wal-verify, backup-mark). A backup whose sentinel or metadata.json cannot be read is listed in
    /// <see cref="BackupListing.Damaged"/> and logged as a warning, one whose chain is broken is logged: the others are
    /// listed all the same.
    /// </summary>
    public async Task<BackupListing> ListDetailedAsync(CancellationToken cancellationToken = default)
    {
        var backups = await ListAsync(cancellationToken).ConfigureAwait(false);
        var details = new List<BackupDetail>(backups.Count);
        var damaged = new List<DamagedBackup>();
        foreach (var backup in backups)
        {
            try
            {
                details.Add(await GetDetailAsync(backup, cancellationToken).ConfigureAwait(false));
            }
            catch (BackupNotFoundException)
            {
                // deleted since it was listed
            }
            catch (ObjectCorruptException ex)
            {
                damaged.Add(new DamagedBackup(backup, ex));
                Log.BackupUnreadable(_logger, backup.Name, ex.Message);
            }
        }

        var listing = await BackupListing.CreateAsync(details, damaged, cancellationToken).ConfigureAwait(false);
        foreach (var detail in details)
        {
            if (listing.ChainOf(detail.Name).Problem is { } problem)
            {
                Log.BackupChainBroken(_logger, detail.Name, problem);
            }
        }

        return listing;
    }

    /// <summary>
    /// backup-mark: makes a backup permanent (never deleted by retention) or impermanent again, rewriting only
    /// metadata.json. Making a delta permanent makes the backups it is built on permanent too; a backup a
    /// permanent delta is built on cannot be made impermanent. Returns the backups whose flag changed.
    /// </summary>
    /// <exception cref="BackupNotFoundException">No such backup.</exception>
    /// <exception cref="PgArchiveException">
    /// A permanent delta depends on the backup being made impermanent; the delta chain of a backup being made permanent loops or
    /// misses a base; its sentinel or a metadata.json cannot be read.
    /// </exception>
    public async Task<IReadOnlyList<string>> MarkAsync(string backupName, bool permanent, CancellationToken cancellationToken = default)
    {
        var backup = await ResolveAsync(backupName, cancellationToken).ConfigureAwait(false);
        var sentinel = await ReadSentinelAsync(backup.Name, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> names = [backup.Name];
        IReadOnlyList<BackupSentinel> sentinels = [sentinel];
        if (permanent)
        {
            var chain = (await ReadChainAsync(backup.Name, sentinel, cancellationToken).ConfigureAwait(false)).EnsureComplete();
            (names, sentinels) = (chain.Names, chain.Sentinels);
        }
        else
        {
            var listing = await ListDetailedAsync(cancellationToken).ConfigureAwait(false);
            foreach (var other in listing.Backups)
            {
                if (other.IsPermanent && other.Name != backup.Name && listing.ChainOf(other.Name).Names.Contains(backup.Name, StringComparer.Ordinal))
                {
                    throw new PgArchiveException(
                        $"Cannot mark {backup.Name} impermanent: the permanent delta backup {other.Name} is built on it. Mark {other.Name} impermanent first.");
                }
            }
        }

        var changed = new List<string>();
        for (var i = names.Count - 1; i >= 0; i--)
        {
            var metadata = await ReadMetadataAsync(names[i], cancellationToken).ConfigureAwait(false) ?? BackupDetail.MetadataFrom(sentinels[i]);
            if (metadata.IsPermanent == permanent)
            {
                continue;
            }

            metadata.IsPermanent = permanent;
            var bytes = JsonSerializer.SerializeToUtf8Bytes(metadata, PgArchiveJsonContext.Default.BackupMetadata);
            await _store.PutAsync(ArchiveLayout.MetadataKey(names[i]), new MemoryStream(bytes), PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
            changed.Add(names[i]);
        }

        return changed;
    }
}
