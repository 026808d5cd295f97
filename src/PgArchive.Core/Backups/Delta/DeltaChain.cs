using System.Formats.Tar;

namespace PgArchive.Backups.Delta;

/// <summary>
/// What restoring a backup takes: the backup alone when it is full; for a delta, its chain from the full
/// backup, each step restoring only the files the target backup lists (files deleted since the base are not
/// created), whole or by applying page increments, in order or newest first (<c>--reverse-unpack</c>).
/// </summary>
internal sealed class DeltaChain
{
    private DeltaChain(IReadOnlyList<ChainStep> steps) => Steps = steps;

    /// <summary>The backups to extract, in extraction order.</summary>
    public IReadOnlyList<ChainStep> Steps { get; }

    /// <summary>Reads the chain of <paramref name="backupName"/> from its sentinels.</summary>
    /// <exception cref="PgArchiveException">A base of the chain is missing or the chain loops.</exception>
    public static async Task<DeltaChain> LoadAsync(BackupCatalog catalog, string backupName, BackupSentinel sentinel, bool reverse, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(sentinel);
        if (sentinel.DeltaFrom is null)
        {
            return new DeltaChain([new ChainStep(backupName, null)]);
        }

        var names = (await catalog.ReadChainAsync(backupName, sentinel, cancellationToken).ConfigureAwait(false)).EnsureComplete().Names;
        var target = await catalog.ReadFilesMetadataAsync(backupName, cancellationToken).ConfigureAwait(false);
        var wanted = target is null || sentinel.FilesMetadataDisabled ? null : new HashSet<string>(target.Files.Keys, StringComparer.Ordinal);
        var writer = new ChainFileWriter(reverse);
        var steps = new List<ChainStep>(names.Count);
        foreach (var name in names)
        {
            var files = name == backupName ? target : await catalog.ReadFilesMetadataAsync(name, cancellationToken).ConfigureAwait(false);
            var incremented = new HashSet<string>(
                files?.Files.Where(f => f.Value.IsIncremented).Select(f => f.Key) ?? [], StringComparer.Ordinal);
            steps.Add(new ChainStep(name, new ChainFilter(wanted, incremented, writer)));
        }

        if (!reverse)
        {
            steps.Reverse();
        }

        return new DeltaChain(steps);
    }
}

/// <summary>One backup of a chain to extract.</summary>
/// <param name="BackupName">The backup.</param>
/// <param name="Filter">How its files are written; null for a lone full backup (plain extraction).</param>
internal sealed record ChainStep(string BackupName, ChainFilter? Filter);

/// <summary>Writes the files of one step of a delta chain.</summary>
internal sealed class ChainFilter(HashSet<string>? wanted, HashSet<string> incremented, ChainFileWriter writer)
{
    /// <summary>
    /// Writes the entry (whole or as an increment) from <paramref name="data"/>, its content; false when it is not
    /// restored (deleted since, or already written).
    /// </summary>
    public async Task<bool> WriteAsync(TarEntry entry, Stream? data, string destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var key = "/" + Normalize(entry.Name);
        if (wanted is not null && !wanted.Contains(key))
        {
            return false; // not in the restored backup: deleted since this one
        }

        if (incremented.Contains(key))
        {
            if (data is null)
            {
                throw new InvalidDataException($"'{key}' is marked as a page increment but is empty.");
            }

            return await writer.ApplyIncrementAsync(data, key, destination, cancellationToken).ConfigureAwait(false);
        }

        return await writer.WriteWholeAsync(data, entry.Length, destination, cancellationToken).ConfigureAwait(false);
    }

    private static string Normalize(string name)
    {
        var relative = name.Replace('\\', '/').TrimStart('/');
        while (relative.StartsWith("./", StringComparison.Ordinal))
        {
            relative = relative[2..];
        }

        return relative;
    }
}
