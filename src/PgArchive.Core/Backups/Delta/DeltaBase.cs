using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Diagnostics;
using PgArchive.PostgresTypes;

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

    /// <summary>The timeline the base started on.</summary>
    public uint Timeline => uint.Parse(Name.AsSpan(5, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>
    /// Picks the base as WAL-G does (<c>delta_backup_configurator.go</c>): none with <see cref="BackupPushRequest.Full"/>
    /// or <see cref="BackupPushRequest.WithoutFilesMetadata"/>; else, when <see cref="PgArchiveOptions.DeltaMaxSteps"/> is
    /// positive (or a base is named), the named backup (<see cref="BackupPushRequest.DeltaFromName"/>, or the one whose
    /// user data is <see cref="BackupPushRequest.DeltaFromUserData"/>: none is a full backup, as WAL-G) or the newest one. The new delta's position is that backup's
    /// <c>DeltaCount</c> + 1 (1 on a full backup), and a full backup is taken instead when it would exceed the maximum,
    /// when that backup has no metadata.json, or when it is permanent (its metadata.json says so) and neither is the new
    /// backup nor the origin <c>LATEST_FULL</c>. With <c>LATEST_FULL</c> the base is then the full backup at the root of
    /// that backup's chain, the position still counted from the newest backup: so every delta of the chain counts, and
    /// <c>WALG_DELTA_MAX_STEPS</c> deltas on one full start a new full, as with WAL-G.
    /// </summary>
    public static async Task<DeltaBase?> SelectAsync(BackupCatalog catalog, PgArchiveOptions options, BackupPushRequest request, CancellationToken cancellationToken,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        if (request.Full || request.WithoutFilesMetadata)
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

        var named = request.DeltaFromName is { Length: > 0 } ? request.DeltaFromName : null;
        if (request.DeltaFromUserData is { } userData)
        {
            named = (await catalog.FindByUserDataAsync(userData, cancellationToken).ConfigureAwait(false))?.Name;
            if (named is null)
            {
                Log.DeltaNotTaken(logger ?? NullLogger.Instance, "no backup holds the user data --delta-from-user-data gives");
                return null;
            }
        }

        BackupInfo previous;
        if (named is not null)
        {
            previous = await catalog.ResolveAsync(named, cancellationToken).ConfigureAwait(false);
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

            previous = backups[^1];
        }

        // The chain of the backup the delta follows, as its sentinels tell it, walked to its full backup: a delta on a chain
        // that loops or misses a backup could never be restored.
        var previousSentinel = await catalog.ReadSentinelAsync(previous.Name, cancellationToken).ConfigureAwait(false);
        var previousChain = Complete(await catalog.ReadChainAsync(previous.Name, previousSentinel, cancellationToken).ConfigureAwait(false));
        var count = previousSentinel.DeltaFrom is null ? 1 : (previousSentinel.DeltaCount ?? previousChain.Names.Count - 1) + 1;
        var fromFull = origin == "LATEST_FULL";
        string? refusal = null;
        if (count > options.DeltaMaxSteps && !(named is not null && options.DeltaMaxSteps == 0))
        {
            refusal = $"{previous.Name} is delta {count - 1} of its chain and WALG_DELTA_MAX_STEPS is {options.DeltaMaxSteps}";
        }
        else if (await catalog.ReadMetadataAsync(previous.Name, cancellationToken).ConfigureAwait(false) is not { } metadata)
        {
            refusal = $"{previous.Name} has no metadata.json";
        }
        else if (metadata.IsPermanent && !request.Permanent && !fromFull)
        {
            refusal = $"{previous.Name} is permanent and this backup is not (a delta is built on a permanent backup only by a permanent one, or with WALG_DELTA_ORIGIN=LATEST_FULL)";
        }

        if (refusal is not null)
        {
            Log.DeltaNotTaken(logger ?? NullLogger.Instance, refusal);
            return null;
        }

        var (name, sentinel) = (previous.Name, previousSentinel);
        if (fromFull && previousSentinel.DeltaFrom is not null)
        {
            name = previousChain.RootName;
            sentinel = await catalog.ReadSentinelAsync(name, cancellationToken).ConfigureAwait(false);
        }

        var files = sentinel.FilesMetadataDisabled
            ? null
            : await catalog.ReadFilesMetadataAsync(name, cancellationToken).ConfigureAwait(false) ?? sentinel.LegacyFilesMetadata();
        return new DeltaBase(name, sentinel, files, count, previousChain.RootName);
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

        var baseTimeline = Timeline;
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
                    parent == baseTimeline && PgArchive.PostgresTypes.Lsn.TryParse(fields[1], out var switchPoint))
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
