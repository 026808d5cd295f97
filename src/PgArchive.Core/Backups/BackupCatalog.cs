using System.Text.Json;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// The backups in the archive: those whose sentinel is stored. LATEST is the backup whose sentinel was
/// stored last, as WAL-G chooses it.
/// </summary>
public sealed partial class BackupCatalog(IObjectStore store)
{
    private readonly IObjectStore _store = store ?? throw new ArgumentNullException(nameof(store));

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
    public async Task<BackupSentinel> ReadSentinelAsync(string backupName, CancellationToken cancellationToken = default)
    {
        var key = ArchiveLayout.SentinelKey(backupName);
        if (WalE.WalEBackup.IsWalEName(backupName))
        {
            return await ReadWalESentinelAsync(backupName, key, cancellationToken).ConfigureAwait(false);
        }

        return await ReadJsonAsync(key, PgArchiveJsonContext.Default.BackupSentinel, cancellationToken).ConfigureAwait(false)
            ?? throw new BackupNotFoundException($"Backup '{backupName}' has no sentinel: it is incomplete or was deleted.");
    }

    /// <summary>Reads a backup's metadata.json, or null when it has none.</summary>
    public Task<BackupMetadata?> ReadMetadataAsync(string backupName, CancellationToken cancellationToken = default) =>
        ReadJsonAsync(ArchiveLayout.MetadataKey(backupName), PgArchiveJsonContext.Default.BackupMetadata, cancellationToken);

    /// <summary>Reads a backup's files_metadata.json, or null when it has none.</summary>
    public Task<FilesMetadata?> ReadFilesMetadataAsync(string backupName, CancellationToken cancellationToken = default) =>
        ReadJsonAsync(ArchiveLayout.FilesMetadataKey(backupName), PgArchiveJsonContext.Default.FilesMetadata, cancellationToken);

    /// <summary>A backup with its sentinel and metadata (built from the sentinel when metadata.json is missing).</summary>
    public async Task<BackupDetail> GetDetailAsync(BackupInfo backup, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backup);
        var sentinel = await ReadSentinelAsync(backup.Name, cancellationToken).ConfigureAwait(false);
        var metadata = await ReadMetadataAsync(backup.Name, cancellationToken).ConfigureAwait(false) ?? BackupDetail.MetadataFrom(sentinel);
        return new BackupDetail(backup, sentinel, metadata);
    }

    /// <summary>Every complete backup with its details, oldest sentinel first (<c>backup-list --detail</c>).</summary>
    public async Task<IReadOnlyList<BackupDetail>> ListDetailedAsync(CancellationToken cancellationToken = default)
    {
        var backups = await ListAsync(cancellationToken).ConfigureAwait(false);
        var details = new List<BackupDetail>(backups.Count);
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
        }

        return details;
    }

    /// <summary>
    /// backup-mark: makes a backup permanent (never deleted by retention) or impermanent again, rewriting only
    /// metadata.json. Making a delta permanent makes the backups it is built on permanent too; a backup a
    /// permanent delta is built on cannot be made impermanent. Returns the backups whose flag changed.
    /// </summary>
    /// <exception cref="BackupNotFoundException">No such backup.</exception>
    /// <exception cref="PgArchiveException">A permanent delta depends on the backup being made impermanent.</exception>
    public async Task<IReadOnlyList<string>> MarkAsync(string backupName, bool permanent, CancellationToken cancellationToken = default)
    {
        var backup = await ResolveAsync(backupName, cancellationToken).ConfigureAwait(false);
        var chain = new List<BackupDetail>();
        var detail = await GetDetailAsync(backup, cancellationToken).ConfigureAwait(false);
        chain.Add(detail);
        if (permanent)
        {
            while (detail.Sentinel.DeltaFrom is { } baseName)
            {
                detail = await GetDetailAsync(await ResolveAsync(baseName, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                chain.Add(detail);
            }
        }
        else
        {
            foreach (var other in await ListDetailedAsync(cancellationToken).ConfigureAwait(false))
            {
                if (other.IsPermanent && other.Sentinel.DeltaFrom == backup.Name)
                {
                    throw new PgArchiveException(
                        $"Cannot mark {backup.Name} impermanent: the permanent delta backup {other.Name} is built on it. Mark {other.Name} impermanent first.");
                }
            }
        }

        var changed = new List<string>();
        foreach (var item in Enumerable.Reverse(chain))
        {
            if (item.Metadata.IsPermanent == permanent)
            {
                continue;
            }

            item.Metadata.IsPermanent = permanent;
            var bytes = JsonSerializer.SerializeToUtf8Bytes(item.Metadata, PgArchiveJsonContext.Default.BackupMetadata);
            await _store.PutAsync(ArchiveLayout.MetadataKey(item.Name), new MemoryStream(bytes), PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
            changed.Add(item.Name);
        }

        return changed;
    }

    private async Task<T?> ReadJsonAsync<T>(string key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
        where T : class
    {
        Stream stream;
        try
        {
            stream = await _store.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await JsonSerializer.DeserializeAsync(stream, typeInfo, cancellationToken).ConfigureAwait(false)
                    ?? throw new PgArchiveException($"'{key}' is empty.");
            }
            catch (JsonException ex)
            {
                throw new PgArchiveException($"'{key}' is not valid JSON: {ex.Message}", ex);
            }
        }
    }
}
