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

    /// <summary>Reads the chain of <paramref name="backupName"/> from its sentinels; its files are written by <paramref name="writer"/>, in its order.</summary>
    /// <exception cref="PgArchiveException">A base of the chain is missing or the chain loops.</exception>
    public static async Task<DeltaChain> LoadAsync(BackupCatalog catalog, string backupName, BackupSentinel sentinel, ChainFileWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(sentinel);
        ArgumentNullException.ThrowIfNull(writer);
        if (sentinel.DeltaFrom is null)
        {
            return new DeltaChain([new ChainStep(backupName, null)]);
        }

        var walked = (await catalog.ReadChainAsync(backupName, sentinel, cancellationToken).ConfigureAwait(false)).EnsureComplete();
        var chain = walked.Names.Zip(walked.Sentinels).ToList();
        var target = await FilesOfAsync(catalog, backupName, sentinel, cancellationToken).ConfigureAwait(false);
        var wanted = target is null ? null : new HashSet<string>(target.Files.Keys, StringComparer.Ordinal);
        var steps = new List<ChainStep>(chain.Count);
        foreach (var (name, stepSentinel) in chain)
        {
            var files = name == backupName ? target : await FilesOfAsync(catalog, name, stepSentinel, cancellationToken).ConfigureAwait(false);
            var incremented = new HashSet<string>(
                files?.Files.Where(f => f.Value.IsIncremented).Select(f => f.Key) ?? [], StringComparer.Ordinal);
            // A delta whose file list is lost: its increments are known by their header, as WAL-G's reader checks it.
            var detectIncrements = files is null && stepSentinel.DeltaFrom is not null;
            steps.Add(new ChainStep(name, new ChainFilter(wanted, incremented, writer, name == backupName, detectIncrements)));
        }

        if (!writer.Reverse)
        {
            steps.Reverse();
        }

        return new DeltaChain(steps);
    }

    /// <summary>What a backup of the chain recorded of its files (<see cref="BackupCatalog.ReadRecordedFilesAsync"/>); null when it recorded none.</summary>
    private static async Task<FilesMetadata?> FilesOfAsync(BackupCatalog catalog, string name, BackupSentinel sentinel, CancellationToken cancellationToken) =>
        await catalog.ReadRecordedFilesAsync(name, sentinel, cancellationToken).ConfigureAwait(false) is { Files.Count: > 0 } files ? files : null;
}

/// <summary>One backup of a chain to extract.</summary>
/// <param name="BackupName">The backup.</param>
/// <param name="Filter">How its files are written; null for a lone full backup (plain extraction).</param>
internal sealed record ChainStep(string BackupName, ChainFilter? Filter);

/// <summary>Writes the files of one step of a delta chain.</summary>
/// <param name="wanted">The files the restored backup lists; null to write every file.</param>
/// <param name="incremented">The files this step stores as page increments.</param>
/// <param name="writer">Writes the chain's files.</param>
/// <param name="isTarget">True for the step of the restored backup itself, the only one whose backup_label and tablespace_map are restored.</param>
/// <param name="detectIncrements">True for a delta without a file list: a relation file whose content starts with an increment's header is one.</param>
internal sealed class ChainFilter(HashSet<string>? wanted, HashSet<string> incremented, ChainFileWriter writer, bool isTarget, bool detectIncrements = false)
{
    /// <summary>
    /// Whether this step still has to write the file <paramref name="key"/> (restored at <paramref name="destination"/>,
    /// null when not restored there): the restored backup lists it (its own backup_label and tablespace_map for the
    /// restored backup only), and no newer backup of the chain wrote all of it (<c>--reverse-unpack</c>).
    /// </summary>
    public bool Needs(string key, string? destination)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Wanted(key) && (destination is null || !writer.IsComplete(destination));
    }

    /// <summary>
    /// Writes the entry (whole or as an increment) from <paramref name="data"/>, its content; false when it is not
    /// restored (deleted since, or already written). backup_label and tablespace_map come from the restored backup
    /// alone, listed in its files or not (WAL-G's backups do not list them; its restore always extracts them).
    /// </summary>
    public async Task<bool> WriteAsync(TarEntry entry, Stream? data, string destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var key = WalGTarNames.Key(entry.Name);
        if (!Wanted(key))
        {
            return false; // not in the restored backup (deleted since this one), or a base's own backup_label
        }

        if (incremented.Contains(key))
        {
            if (data is null)
            {
                throw new InvalidDataException($"'{key}' is marked as a page increment but is empty.");
            }

            return await writer.ApplyIncrementAsync(data, key, destination, cancellationToken).ConfigureAwait(false);
        }

        if (detectIncrements && data is not null && entry.Length >= PageIncrement.FixedHeaderSize)
        {
            var head = new byte[PageIncrement.FixedHeaderSize];
            await data.ReadExactlyAsync(head, cancellationToken).ConfigureAwait(false);
            var whole = new PgArchive.IO.PrefixedReadStream(head, data);
            return PageIncrement.LooksLikeIncrement(key, head, entry.Length)
                ? await writer.ApplyIncrementAsync(whole, key, destination, cancellationToken).ConfigureAwait(false)
                : await writer.WriteWholeAsync(whole, entry.Length, destination, cancellationToken).ConfigureAwait(false);
        }

        return await writer.WriteWholeAsync(data, entry.Length, destination, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>In the restored backup: listed by it, or its own backup_label and tablespace_map (the restored backup's step only).</summary>
    private bool Wanted(string key) => WalGTarNames.IsUtilityFile(key) ? isTarget : wanted is null || wanted.Contains(key);
}
