using System.Globalization;
using PgArchive.Wal;

namespace PgArchive.Backups.Delta;

/// <summary>The backup a delta is built on, with what the delta needs of it.</summary>
/// <param name="Name">The base's name.</param>
/// <param name="Sentinel">Its sentinel.</param>
/// <param name="Files">Its files_metadata.json (file → modification time), or null when it has none.</param>
/// <param name="Count">The new delta's position in the chain (1 for a delta on a full backup).</param>
/// <param name="FullName">The full backup at the root of the chain.</param>
internal sealed record DeltaBase(string Name, BackupSentinel Sentinel, FilesMetadata? Files, int Count, string FullName)
{
    /// <summary>The base's start LSN: pages with an older LSN are not stored.</summary>
    public ulong Lsn => Sentinel.Lsn;

    /// <summary>The 24-hex WAL file name the base started in (the part after <c>base_</c>).</summary>
    public string StartWalFile => Name.Substring(5, 24);

    /// <summary>
    /// Picks the base as WAL-G does: none with <see cref="BackupPushRequest.Full"/>; the named backup with
    /// <see cref="BackupPushRequest.DeltaFromName"/>; else, when <see cref="PgArchiveOptions.DeltaMaxSteps"/> is
    /// positive, the newest backup (<c>LATEST</c>) or the full at the root of its chain (<c>LATEST_FULL</c>) —
    /// and none when the delta would make the chain longer than the maximum.
    /// </summary>
    public static async Task<DeltaBase?> SelectAsync(BackupCatalog catalog, PgArchiveOptions options, BackupPushRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Full)
        {
            return null;
        }

        var origin = (options.DeltaOrigin ?? "LATEST").Trim().ToUpperInvariant();
        if (origin is not ("LATEST" or "LATEST_FULL"))
        {
            throw new PgArchiveConfigurationException($"WALG_DELTA_ORIGIN must be LATEST or LATEST_FULL, not '{options.DeltaOrigin}'.");
        }

        if (options.DeltaMaxSteps < 0)
        {
            throw new PgArchiveConfigurationException($"WALG_DELTA_MAX_STEPS must be 0 or more, not {options.DeltaMaxSteps}.");
        }

        BackupInfo chosen;
        if (request.DeltaFromName is { Length: > 0 } named)
        {
            chosen = await catalog.ResolveAsync(named, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (options.DeltaMaxSteps == 0)
            {
                return null;
            }

            var backups = await catalog.ListAsync(cancellationToken).ConfigureAwait(false);
            if (backups.Count == 0)
            {
                return null; // the first backup is full
            }

            chosen = backups[^1];
            if (origin == "LATEST_FULL")
            {
                var latest = await catalog.ReadSentinelAsync(chosen.Name, cancellationToken).ConfigureAwait(false);
                var latestChain = await catalog.ReadChainAsync(chosen.Name, latest, cancellationToken).ConfigureAwait(false);
                chosen = await catalog.ResolveAsync(Complete(latestChain).RootName, cancellationToken).ConfigureAwait(false);
            }
        }

        // The base's chain as its sentinels tell it, walked to its full backup: a delta on a chain that loops or misses a
        // backup could never be restored.
        var sentinel = await catalog.ReadSentinelAsync(chosen.Name, cancellationToken).ConfigureAwait(false);
        var chain = Complete(await catalog.ReadChainAsync(chosen.Name, sentinel, cancellationToken).ConfigureAwait(false));
        var count = chain.Names.Count;
        if (request.DeltaFromName is null && count > options.DeltaMaxSteps)
        {
            return null; // the chain is as long as allowed: a full backup starts the next one
        }

        var files = sentinel.FilesMetadataDisabled ? null : await catalog.ReadFilesMetadataAsync(chosen.Name, cancellationToken).ConfigureAwait(false);
        return new DeltaBase(chosen.Name, sentinel, files, count, chain.RootName);
    }

    private static BackupChain Complete(BackupChain chain) => chain.Problem is { } problem
        ? throw new PgArchiveException($"Cannot take a delta on {chain.BackupName}: {problem} Take a full backup (--full).")
        : chain;

    /// <summary>Refuses a base from another cluster.</summary>
    /// <exception cref="PgArchiveException">The system identifiers differ.</exception>
    public void CheckCluster(ulong systemIdentifier, int blockSize)
    {
        if (Sentinel.SystemIdentifier is { } theirs && theirs != systemIdentifier)
        {
            throw new PgArchiveException(
                $"Cannot take a delta on {Name}: it was taken from another cluster (system identifier {theirs}, this one is {systemIdentifier}). Take a full backup (--full).");
        }

        if (blockSize != PageIncrement.PageSize)
        {
            throw new PgArchiveException($"Cannot take a delta backup: the cluster's block size is {blockSize}; page increments need {PageIncrement.PageSize}.");
        }
    }

    /// <summary>
    /// Refuses a base the new backup's WAL history does not descend from: a base on a later LSN, or on a
    /// timeline that is not an ancestor of <paramref name="timeline"/> at the base's LSN (read from the
    /// timeline's history file in <c>pg_wal</c>).
    /// </summary>
    /// <exception cref="PgArchiveException">The base is not on this backup's history.</exception>
    public void CheckHistory(string dataDirectory, uint timeline, Lsn start)
    {
        if (Sentinel.Lsn > start.Value)
        {
            throw new PgArchiveException($"Cannot take a delta on {Name}: it starts at {new Lsn(Sentinel.Lsn)}, after this backup's start {start}.");
        }

        var baseTimeline = uint.Parse(Name.AsSpan(5, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if (baseTimeline == timeline)
        {
            return;
        }

        var historyFile = Path.Combine(dataDirectory, "pg_wal", string.Create(CultureInfo.InvariantCulture, $"{timeline:X8}.history"));
        if (File.Exists(historyFile))
        {
            foreach (var line in File.ReadLines(historyFile))
            {
                var fields = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 2 && uint.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) &&
                    parent == baseTimeline && PgArchive.Wal.Lsn.TryParse(fields[1], out var switchPoint))
                {
                    if (Sentinel.Lsn < switchPoint.Value)
                    {
                        return;
                    }

                    throw new PgArchiveException(
                        $"Cannot take a delta on {Name}: timeline {baseTimeline} was left at {switchPoint}, before the base's start {new Lsn(Sentinel.Lsn)}. Take a full backup (--full).");
                }
            }
        }

        throw new PgArchiveException(
            $"Cannot take a delta on {Name}: it is on timeline {baseTimeline}, which is not in the history of timeline {timeline}. Take a full backup (--full).");
    }
}
