using PgArchive.Storage;

namespace PgArchive.Backups.Delta;

/// <summary>
/// A backup and the backups it is built on, followed through each sentinel's <c>DeltaFrom</c> to the full backup at
/// the root: the one walk of a delta chain, which restore, verify, backup-mark, retention, the catalog's listing and
/// the choice of a delta's base all go through. A sentinel is someone's data: a chain that loops (a backup built on
/// itself, or two on each other) or names a backup that is not there ends the walk with <see cref="Problem"/> saying
/// which backup and where, never an endless walk.
/// </summary>
public sealed class BackupChain
{
    private BackupChain(IReadOnlyList<string> names, IReadOnlyList<BackupSentinel> sentinels, string? problem)
    {
        Names = names;
        Sentinels = sentinels;
        Problem = problem;
    }

    /// <summary>The backup whose chain this is.</summary>
    public string BackupName => Names[0];

    /// <summary>The backup, its base, that one's base, ... as far as the walk got (the full backup when complete).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The sentinels of <see cref="Names"/>, in the same order.</summary>
    public IReadOnlyList<BackupSentinel> Sentinels { get; }

    /// <summary>Why the chain does not reach a full backup (it loops, or a base is missing); null when it does.</summary>
    public string? Problem { get; }

    /// <summary>True when the chain reaches a full backup: the backup can be restored as far as its sentinels tell.</summary>
    public bool IsComplete => Problem is null;

    /// <summary>The full backup at the root (the last backup reached when the chain is broken).</summary>
    public string RootName => Names[^1];

    /// <summary>This chain, when it is complete.</summary>
    /// <exception cref="PgArchiveException">The chain loops or a base is missing: <see cref="Problem"/>.</exception>
    public BackupChain EnsureComplete() => Problem is null ? this : throw new PgArchiveException(Problem);

    /// <summary>
    /// Follows <paramref name="backupName"/>'s chain from its <paramref name="sentinel"/>, asking <paramref name="sentinelOf"/> for each base's
    /// sentinel: null when the backup is not in the archive, <see cref="ObjectCorruptException"/> when it cannot be read.
    /// </summary>
    public static async Task<BackupChain> WalkAsync(string backupName, BackupSentinel sentinel,
        Func<string, CancellationToken, ValueTask<BackupSentinel?>> sentinelOf, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(backupName);
        ArgumentNullException.ThrowIfNull(sentinel);
        ArgumentNullException.ThrowIfNull(sentinelOf);
        var names = new List<string> { backupName };
        var sentinels = new List<BackupSentinel> { sentinel };
        var seen = new HashSet<string>(StringComparer.Ordinal) { backupName };
        string? problem = null;
        while (sentinels[^1].DeltaFrom is { } baseName)
        {
            var current = names[^1];
            if (!seen.Add(baseName))
            {
                problem = $"The delta chain of {backupName} loops: {current} is built on {baseName} (DeltaFrom in '{ArchiveLayout.SentinelKey(current)}'), " +
                    $"which is already in the chain {string.Join(" → ", names)}. It cannot be restored.";
                break;
            }

            BackupSentinel? baseSentinel;
            try
            {
                baseSentinel = await sentinelOf(baseName, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectCorruptException ex)
            {
                problem = $"The delta chain of {backupName} is broken: {current} is built on {baseName}, which cannot be read: {ex.Message}";
                break;
            }

            if (baseSentinel is null)
            {
                problem = $"The delta chain of {backupName} is broken: {current} is built on {baseName} (DeltaFrom in '{ArchiveLayout.SentinelKey(current)}'), " +
                    "which is not in the archive. It cannot be restored.";
                break;
            }

            names.Add(baseName);
            sentinels.Add(baseSentinel);
        }

        return new BackupChain(names, sentinels, problem);
    }
}
