using PgArchive.Backups.Delta;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// Every complete backup of the archive with its details and delta chain, and the backups whose sentinel or
/// metadata.json cannot be read. One damaged object does not hide the others: commands carry on with what they can
/// read, name what they cannot, and retention keeps it.
/// </summary>
public sealed class BackupListing
{
    private readonly IReadOnlyDictionary<string, BackupChain> _chains;

    internal BackupListing(IReadOnlyList<BackupDetail> backups, IReadOnlyList<DamagedBackup> damaged, IReadOnlyDictionary<string, BackupChain> chains)
    {
        Backups = backups;
        Damaged = damaged;
        _chains = chains;
    }

    /// <summary>The backups that could be read, oldest sentinel first.</summary>
    public IReadOnlyList<BackupDetail> Backups { get; }

    /// <summary>The backups whose sentinel or metadata.json cannot be read, oldest sentinel first.</summary>
    public IReadOnlyList<DamagedBackup> Damaged { get; }

    /// <summary>The delta chain of one of <see cref="Backups"/>, walked through the others.</summary>
    /// <exception cref="KeyNotFoundException"><paramref name="backupName"/> is not one of <see cref="Backups"/>.</exception>
    public BackupChain ChainOf(string backupName) => _chains[backupName];

    /// <summary>Reads the chains of <paramref name="backups"/> through each other; a base that is damaged ends its chain with the reason.</summary>
    internal static async Task<BackupListing> CreateAsync(IReadOnlyList<BackupDetail> backups, IReadOnlyList<DamagedBackup> damaged, CancellationToken cancellationToken)
    {
        var byName = backups.ToDictionary(b => b.Name, StringComparer.Ordinal);
        var unreadable = damaged.ToDictionary(d => d.Name, StringComparer.Ordinal);
        var chains = new Dictionary<string, BackupChain>(StringComparer.Ordinal);
        foreach (var backup in backups)
        {
            chains[backup.Name] = await BackupChain.WalkAsync(backup.Name, backup.Sentinel, (name, _) =>
                unreadable.TryGetValue(name, out var bad) ? throw bad.Error : ValueTask.FromResult(byName.GetValueOrDefault(name)?.Sentinel),
                cancellationToken).ConfigureAwait(false);
        }

        return new BackupListing(backups, damaged, chains);
    }
}

/// <summary>A backup whose sentinel or metadata.json cannot be read.</summary>
public sealed class DamagedBackup
{
    internal DamagedBackup(BackupInfo info, ObjectCorruptException error)
    {
        Info = info;
        Error = error;
    }

    /// <summary>The listing entry: name, sentinel modification time, start segment (all told by the name and the store).</summary>
    public BackupInfo Info { get; }

    /// <summary>The backup's name.</summary>
    public string Name => Info.Name;

    /// <summary>Why it cannot be read: the object and the field.</summary>
    public string Reason => Error.Message;

    /// <summary>What reading it failed with.</summary>
    internal ObjectCorruptException Error { get; }
}
