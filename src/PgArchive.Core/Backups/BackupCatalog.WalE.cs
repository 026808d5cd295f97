using System.Text;
using PgArchive.Backups.WalE;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>WAL-E's backups, read through the same catalog: their sentinel and extended_version.txt, WAL-E's names.</summary>
public sealed partial class BackupCatalog
{
    private const int ExtendedVersionMaxBytes = 4096;

    private async Task<BackupSentinel> ReadWalESentinelAsync(string backupName, string key, CancellationToken cancellationToken)
    {
        var info = await _store.GetInfoAsync(key, cancellationToken).ConfigureAwait(false);
        var walE = info is null ? null : await StoredJson.ReadAsync(_store, key, PgArchiveJsonContext.Default.WalESentinel, BackupJsonKinds.Sentinel, null, cancellationToken).ConfigureAwait(false);
        if (info is null || walE is null)
        {
            throw new BackupNotFoundException($"Backup '{backupName}' has no sentinel: it is incomplete or was deleted.");
        }

        return WalEBackup.ToSentinel(backupName, walE, info.LastModified, await ReadExtendedVersionAsync(backupName, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The first line of the backup's extended_version.txt (<c>SELECT version()</c>), or null when it has none.</summary>
    private async Task<string?> ReadExtendedVersionAsync(string backupName, CancellationToken cancellationToken)
    {
        Stream stream;
        try
        {
            stream = await _store.OpenReadAsync(ArchiveLayout.BackupPrefix(backupName) + WalEBackup.ExtendedVersionObjectName, null, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[ExtendedVersionMaxBytes];
            var length = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            return Encoding.UTF8.GetString(buffer, 0, length).Split('\n')[0].Trim();
        }
    }
}
