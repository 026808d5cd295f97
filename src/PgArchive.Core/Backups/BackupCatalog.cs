using System.Text.Json;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// The backups in the archive: those whose sentinel is stored. LATEST is the backup whose sentinel was
/// stored last, as WAL-G chooses it.
/// </summary>
public sealed class BackupCatalog(IObjectStore store)
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
        var stream = await _store.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                return await JsonSerializer.DeserializeAsync(stream, PgArchiveJsonContext.Default.BackupSentinel, cancellationToken).ConfigureAwait(false)
                    ?? throw new PgArchiveException($"Sentinel '{key}' is empty.");
            }
            catch (JsonException ex)
            {
                throw new PgArchiveException($"Sentinel '{key}' is not valid JSON: {ex.Message}", ex);
            }
        }
    }
}
