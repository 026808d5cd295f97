using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Backups;
using PgArchive.Diagnostics;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal;
using PgArchive.Wal.Records;

namespace PgArchive.Retention;

/// <summary>
/// <c>delete</c>: computes a <see cref="RetentionPlan"/> (which backups go, which stay and why, every object
/// that would be deleted) and executes it on request.
/// </summary>
/// <remarks>
/// Backups are chosen as WAL-G chooses them (ordered by timeline and start segment, or by start time with
/// <see cref="RetentionRequest.UseSentinelTime"/>; a delta's bases stay while it stays; permanent backups stay
/// unless <c>everything FORCE</c>). WAL is decided by what the kept backups need rather than by name order:
/// from the oldest kept impermanent backup on, every kept backup keeps all WAL from its start segment along
/// every timeline whose history passes through its start (so point-in-time recovery from it still reaches any
/// later point); an older kept (permanent) backup keeps the WAL from its start to its finish segment. Timeline
/// history files are always kept. When no backup is kept, WAL is left alone except by <c>everything</c>.
/// A backup whose sentinel or metadata.json cannot be read does not stop the others' retention, and is never deleted
/// but by <c>everything FORCE</c>: it is kept with the WAL from the start segment its name tells, and so are the backups
/// its name says it may be built on. What unfinished backups (no sentinel) left is deleted when they started before the
/// oldest kept impermanent backup, unless a backup-push may still be writing them (<see cref="BackupClaim.StateOf"/>).
/// Deleting is idempotent and two runs may overlap: a key already gone is ignored.
/// </remarks>
public sealed partial class RetentionPlanner
{
    private const int DeleteBatchSize = 500;
    private readonly IObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly BackupCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    public RetentionPlanner(IObjectStore store, ObjectCodec codec, BackupCatalog catalog, TimeProvider? timeProvider = null, ILogger<RetentionPlanner>? logger = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _codec = codec ?? throw new ArgumentNullException(nameof(codec));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _logger = logger ?? NullLogger<RetentionPlanner>.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Works out what <paramref name="request"/> would delete. Nothing is changed.</summary>
    /// <exception cref="BackupNotFoundException">A backup named in the request does not exist.</exception>
    /// <exception cref="RetentionRefusedException">The request would delete a permanent backup, or break a delta chain.</exception>
    public async Task<RetentionPlan> PlanAsync(RetentionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Mode == RetentionMode.OldVersions)
        {
            return await PlanOldVersionsAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var listing = await _catalog.ListDetailedAsync(cancellationToken).ConfigureAwait(false);
        var backupObjects = new List<ObjectInfo>();
        await foreach (var info in _store.ListAsync(ArchiveLayout.BaseBackupsPrefix, cancellationToken).ConfigureAwait(false))
        {
            backupObjects.Add(info);
        }

        var wal = await WalArchiveInventory.LoadAsync(_store, _codec, BackupDetail.InferSegmentSize(listing.Backups), cancellationToken).ConfigureAwait(false);
        // Listed after wal_005/: a map is stored after its segment, so a map whose segment this listing missed is newer
        // than it, and deleting it as an orphan only costs a later delta a page scan.
        var blockMaps = new List<ObjectInfo>();
        await foreach (var info in _store.ListAsync(ArchiveLayout.WalBlockMapsPrefix, cancellationToken).ConfigureAwait(false))
        {
            blockMaps.Add(info);
        }

        var beingWritten = await BeingWrittenAsync(backupObjects, listing, cancellationToken).ConfigureAwait(false);
        return Plan(request, listing, backupObjects, wal, beingWritten, blockMaps);
    }

    /// <summary>The unfinished backups (objects, no sentinel) that a backup-push may still be writing, with how.</summary>
    private async Task<Dictionary<string, string>> BeingWrittenAsync(IReadOnlyList<ObjectInfo> backupObjects, BackupListing listing,
        CancellationToken cancellationToken)
    {
        var complete = listing.Backups.Select(d => d.Name).Concat(listing.Damaged.Select(d => d.Name)).ToHashSet(StringComparer.Ordinal);
        var unfinished = new Dictionary<string, (DateTimeOffset LastWritten, bool Claimed)>(StringComparer.Ordinal);
        foreach (var info in backupObjects)
        {
            if (UnfinishedBackupOf(info.Key) is { } name && !complete.Contains(name))
            {
                var (newest, claimed) = unfinished.GetValueOrDefault(name, (info.LastModified, false));
                unfinished[name] = (info.LastModified > newest ? info.LastModified : newest, claimed || info.Key == ArchiveLayout.ProgressKey(name));
            }
        }

        var now = _time.GetUtcNow();
        var beingWritten = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, (lastWritten, claimed)) in unfinished)
        {
            var claim = claimed ? (await BackupClaim.ReadAsync(_store, name, cancellationToken).ConfigureAwait(false)).Record : null;
            if (BackupClaim.Activity(BackupClaim.StateOf(claim, lastWritten, now), claim, lastWritten, now) is { } activity)
            {
                beingWritten[name] = activity;
            }
        }

        return beingWritten;
    }

    /// <summary>The backup whose folder holds <paramref name="key"/> (<c>basebackups_005/&lt;name&gt;/...</c>), or null.</summary>
    private static string? UnfinishedBackupOf(string key)
    {
        var rest = key[ArchiveLayout.BaseBackupsPrefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && BackupName.IsValid(rest[..slash]) ? rest[..slash] : null;
    }

    /// <summary>
    /// Deletes what <paramref name="plan"/> lists, in its order. A backup that was made permanent since the plan
    /// was computed stops the run before anything is deleted.
    /// </summary>
    /// <returns>The number of objects deleted (or found already gone).</returns>
    public async Task<int> ExecuteAsync(RetentionPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (!plan.Request.Force)
        {
            foreach (var name in plan.BackupsToDelete)
            {
                var metadata = await _catalog.ReadMetadataAsync(name, cancellationToken).ConfigureAwait(false);
                if (metadata?.IsPermanent == true)
                {
                    throw new RetentionRefusedException($"{name} was marked permanent after the plan was made; nothing was deleted. Run the delete again.");
                }
            }
        }

        var keys = plan.ObjectsToDelete.Select(o => o.Key).ToList();
        for (var i = 0; i < keys.Count; i += DeleteBatchSize)
        {
            await _store.DeleteAsync(keys.Skip(i).Take(DeleteBatchSize), cancellationToken).ConfigureAwait(false);
        }

        Log.RetentionExecuted(_logger, plan.Request.ToString(), keys.Count, plan.BackupsToDelete.Count());
        return keys.Count;
    }

    internal static RetentionPlan Plan(RetentionRequest request, BackupListing listing, IReadOnlyList<ObjectInfo> backupObjects, WalArchiveInventory wal,
        IReadOnlyDictionary<string, string> beingWritten, IReadOnlyList<ObjectInfo>? blockMaps = null)
    {
        blockMaps ??= [];
        var ordered = Order(listing.Backups, request.UseSentinelTime);
        var notes = new List<string>();
        notes.AddRange(ordered.Select(b => listing.ChainOf(b.Name).Problem).OfType<string>());
        var delete = new Dictionary<string, string>(StringComparer.Ordinal);
        var keep = new Dictionary<string, string>(StringComparer.Ordinal);
        string? target = null;

        switch (request.Mode)
        {
            case RetentionMode.Everything:
                return PlanEverything(request, ordered, listing.Damaged, backupObjects, wal, blockMaps);
            case RetentionMode.Retain:
                target = ChooseRetainTarget(request, ordered, keep, notes);
                break;
            case RetentionMode.Before:
                target = ChooseBeforeTarget(request, ordered, listing.Damaged, keep, notes);
                break;
            case RetentionMode.Target:
                target = ChooseTargets(request, ordered, listing, delete);
                break;
            case RetentionMode.Garbage:
                target = ordered.FirstOrDefault(b => !b.IsPermanent)?.Name;
                if (target is null)
                {
                    notes.Add("There is no impermanent backup: nothing counts as garbage.");
                }

                break;
        }

        if (request.Mode is RetentionMode.Retain or RetentionMode.Before && target is not null)
        {
            var targetIndex = ordered.FindIndex(b => b.Name == target);
            for (var i = 0; i < targetIndex; i++)
            {
                if (ordered[i].IsPermanent)
                {
                    keep[ordered[i].Name] = "permanent";
                }
                else
                {
                    delete[ordered[i].Name] = $"older than {target}";
                }
            }
        }

        if (request.Mode is RetentionMode.Retain or RetentionMode.Before && target is null)
        {
            // As WAL-G: no backup found for deletion, nothing is deleted (not even WAL).
            var untouched = ordered.Select(b => new BackupDecision(b.Name, false, b.IsPermanent, keep.GetValueOrDefault(b.Name) ?? "kept")).ToList();
            return new RetentionPlan(request, null, [.. untouched, .. Unreadable(listing.Damaged)], [], [], [.. notes, "Nothing to delete."]);
        }

        KeepBasesOfKeptDeltas(ordered, listing, delete, keep);
        var decisions = ordered
            .Select(b => delete.TryGetValue(b.Name, out var why)
                ? new BackupDecision(b.Name, true, b.IsPermanent, why)
                : new BackupDecision(b.Name, false, b.IsPermanent, keep.GetValueOrDefault(b.Name) ?? (b.IsPermanent ? "permanent" : DefaultKeepReason(request, target))))
            .Concat(Unreadable(listing.Damaged))
            .ToList();

        var objects = new List<ObjectInfo>();
        var deletedBackups = ordered.Where(b => delete.ContainsKey(b.Name)).ToList();
        objects.AddRange(backupObjects.Where(o => deletedBackups.Any(b => o.Key == ArchiveLayout.SentinelKey(b.Name))));
        objects.AddRange(backupObjects.Where(o => deletedBackups.Any(b => o.Key.StartsWith(ArchiveLayout.BackupPrefix(b.Name), StringComparison.Ordinal))));

        var kept = ordered.Where(b => !delete.ContainsKey(b.Name)).ToList();
        var horizon = kept.FirstOrDefault(b => !b.IsPermanent);
        if (request.Mode != RetentionMode.Target && horizon is not null && request.Scope != GarbageScope.Archives)
        {
            objects.AddRange(Leftovers(ordered, listing.Damaged, backupObjects, horizon, beingWritten, notes));
        }

        var walPlan = new List<WalRetention>();
        if (kept.Count == 0)
        {
            notes.Add("No backup is kept, so WAL is left alone (delete everything removes it).");
        }
        else if (request.Mode == RetentionMode.Garbage && horizon is null)
        {
            notes.Add("WAL is left alone while only permanent backups exist.");
        }
        else if (request.Scope == GarbageScope.Backups)
        {
            notes.Add("BACKUPS: WAL is left alone.");
        }
        else
        {
            var unneeded = UnneededWal(kept, listing.Damaged, wal, walPlan);
            objects.AddRange(unneeded);
            objects.AddRange(UnneededBlockMaps(blockMaps, unneeded, wal));
        }

        if (objects.Count == 0)
        {
            notes.Add("Nothing to delete.");
        }

        return new RetentionPlan(request, target, decisions, objects, walPlan, notes);
    }

    private static List<BackupDetail> Order(IReadOnlyList<BackupDetail> details, bool useSentinelTime) => useSentinelTime
        ? [.. details.OrderBy(b => b.Metadata.StartTime).ThenBy(b => b.Name, StringComparer.Ordinal)]
        : [.. details.OrderBy(b => b.Info.WalFileName, StringComparer.Ordinal).ThenBy(b => b.Name, StringComparer.Ordinal)];

    private static RetentionPlan PlanEverything(RetentionRequest request, List<BackupDetail> ordered, IReadOnlyList<DamagedBackup> damaged,
        IReadOnlyList<ObjectInfo> backupObjects, WalArchiveInventory wal, IReadOnlyList<ObjectInfo> blockMaps)
    {
        var permanent = ordered.Where(b => b.IsPermanent).Select(b => b.Name).ToList();
        if (permanent.Count > 0 && !request.Force)
        {
            throw new RetentionRefusedException(
                $"The archive holds permanent backups ({string.Join(", ", permanent)}): 'delete everything' keeps them; " +
                "add FORCE to delete them too, or mark them with backup-mark --impermanent.");
        }

        if (damaged.Count > 0 && !request.Force)
        {
            throw new RetentionRefusedException(
                $"{damaged[0].Name} cannot be read, so whether it is permanent is unknown ({damaged[0].Reason}): add FORCE to delete it with everything else.");
        }

        var decisions = ordered.Select(b => new BackupDecision(b.Name, true, b.IsPermanent, "delete everything"))
            .Concat(damaged.Select(d => new BackupDecision(d.Name, true, false, "delete everything FORCE (it cannot be read)")))
            .ToList();
        var objects = backupObjects.Where(o => o.Key.EndsWith(ArchiveLayout.SentinelSuffix, StringComparison.Ordinal))
            .Concat(backupObjects.Where(o => !o.Key.EndsWith(ArchiveLayout.SentinelSuffix, StringComparison.Ordinal)))
            .Concat(wal.Objects.Select(o => o.Info))
            .Concat(blockMaps)
            .ToList();
        var walPlan = wal.Objects.Where(o => o.Kind == WalFileKind.Segment).GroupBy(o => o.Segment!.Value.Timeline)
            .Select(g => new WalRetention(g.Key, 0, g.Count(), null, null)).ToList();
        return new RetentionPlan(request, null, decisions, objects, walPlan, objects.Count == 0 ? ["Nothing to delete."] : []);
    }

    private static string? ChooseRetainTarget(RetentionRequest request, List<BackupDetail> ordered, Dictionary<string, string> keep, List<string> notes)
    {
        var seen = 0;
        BackupDetail? target = null;
        for (var i = ordered.Count - 1; i >= 0 && target is null; i--)
        {
            var backup = ordered[i];
            switch (request.Modifier)
            {
                case RetainModifier.Full:
                    seen += backup.IsFull ? 1 : 0;
                    keep[backup.Name] = $"within the newest {request.Count} full backups";
                    target = backup.IsFull && seen == request.Count ? backup : null;
                    break;
                case RetainModifier.FindFull:
                    seen++;
                    keep[backup.Name] = seen <= request.Count ? $"one of the newest {request.Count} backups" : "the full backup the newest ones are built on";
                    target = seen >= request.Count && backup.IsFull ? backup : null;
                    break;
                default:
                    seen++;
                    keep[backup.Name] = $"one of the newest {request.Count} backups";
                    target = seen == request.Count ? backup : null;
                    break;
            }
        }

        if (request.AfterBackup is not null || request.AfterTime is not null)
        {
            target = OlderOf(ordered, target, ChooseRetainAfterTarget(request, ordered, keep));
        }

        if (target is null)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"There are not more than {request.Count} backups to keep: no backup is deleted."));
            return null;
        }

        if (!target.IsFull)
        {
            throw new RetentionRefusedException(
                $"{target.Name} is a delta backup: the backups it is built on cannot be deleted. Use 'retain FIND_FULL {request.Count}'.");
        }

        return target.Name;
    }

    /// <summary>
    /// <c>retain --after</c> (WAL-G's FindTargetRetainAfterName and FindTargetRetainAfterTime): the oldest backup from which
    /// on backups are kept for being after the name (prefix, as WAL-G matches it) or at or after the time; with FULL or
    /// FIND_FULL the oldest such full backup. Null when there is none.
    /// </summary>
    private static BackupDetail? ChooseRetainAfterTarget(RetentionRequest request, List<BackupDetail> ordered, Dictionary<string, string> keep)
    {
        var met = false;
        BackupDetail? target = null;
        foreach (var backup in ordered)
        {
            met = request.AfterBackup is { } name
                ? met || backup.Name.StartsWith(name, StringComparison.Ordinal)
                : (request.UseSentinelTime ? backup.Metadata.StartTime : backup.Info.LastModified) >= request.AfterTime!.Value;
            if (met && (request.Modifier == RetainModifier.None || backup.IsFull))
            {
                target ??= backup;
            }

            if (target is not null)
            {
                keep.TryAdd(backup.Name, $"after {request.AfterBackup ?? request.AfterTime!.Value.ToString("O", CultureInfo.InvariantCulture)}");
            }
        }

        return target;
    }

    /// <summary>The one of two targets earlier in <paramref name="ordered"/>: more is kept.</summary>
    private static BackupDetail? OlderOf(List<BackupDetail> ordered, BackupDetail? first, BackupDetail? second) =>
        first is null ? second : second is null ? first : ordered.IndexOf(first) <= ordered.IndexOf(second) ? first : second;

    private static string? ChooseBeforeTarget(RetentionRequest request, List<BackupDetail> ordered, IReadOnlyList<DamagedBackup> damaged,
        Dictionary<string, string> keep, List<string> notes)
    {
        int index;
        if (request.BackupName is { } name)
        {
            index = ordered.FindIndex(b => b.Name == name);
            if (index < 0)
            {
                throw NotReadable(name, damaged);
            }
        }
        else
        {
            var time = request.BeforeTime!.Value;
            index = ordered.FindIndex(b => (request.UseSentinelTime ? b.Metadata.StartTime : b.Info.LastModified) >= time);
            if (index < 0)
            {
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"No backup was taken at or after {time:O}: no backup is deleted."));
                return null;
            }
        }

        if (request.FindFull)
        {
            var full = index;
            while (full >= 0 && !ordered[full].IsFull)
            {
                full--;
            }

            if (full < 0)
            {
                throw new RetentionRefusedException($"No full backup precedes {ordered[index].Name}: nothing can be deleted before it.");
            }

            for (var i = full; i <= index; i++)
            {
                keep[ordered[i].Name] = $"needed by {ordered[index].Name}";
            }

            index = full;
        }
        else if (!ordered[index].IsFull)
        {
            throw new RetentionRefusedException($"{ordered[index].Name} is a delta backup: the backups it is built on cannot be deleted. Use 'before FIND_FULL'.");
        }

        return ordered[index].Name;
    }

    private static string ChooseTargets(RetentionRequest request, List<BackupDetail> ordered, BackupListing listing, Dictionary<string, string> delete)
    {
        var target = ordered.FirstOrDefault(b => b.Name == request.BackupName) ?? throw NotReadable(request.BackupName!, listing.Damaged);

        // FIND_FULL: every backup whose chain reaches the target's full backup; else the target and the deltas built on it, however indirectly.
        var root = request.FindFull ? listing.ChainOf(target.Name).RootName : target.Name;
        List<BackupDetail> doomed = [.. ordered.Where(b => listing.ChainOf(b.Name).Names.Contains(root, StringComparer.Ordinal))];

        if (doomed.FirstOrDefault(b => b.IsPermanent) is { } permanent)
        {
            throw new RetentionRefusedException($"{permanent.Name} is permanent and cannot be deleted; run 'backup-mark {permanent.Name} --impermanent' first.");
        }

        foreach (var backup in doomed)
        {
            delete[backup.Name] = backup == target ? "the target" : $"a delta built on {target.Name}";
        }

        return target.Name;
    }

    /// <summary>
    /// Keeps every backup a kept delta is built on, however indirectly, and those a delta that cannot be read may be built on:
    /// its name tells the start segment of its base (<c>_D_</c>).
    /// </summary>
    private static void KeepBasesOfKeptDeltas(List<BackupDetail> ordered, BackupListing listing, Dictionary<string, string> delete, Dictionary<string, string> keep)
    {
        foreach (var backup in ordered.Where(b => !delete.ContainsKey(b.Name)).ToList())
        {
            foreach (var baseName in listing.ChainOf(backup.Name).Names.Skip(1))
            {
                if (delete.Remove(baseName))
                {
                    keep[baseName] = $"base of the kept delta {backup.Name}";
                }
            }
        }

        foreach (var damaged in listing.Damaged)
        {
            var marker = damaged.Name.IndexOf("_D_", StringComparison.Ordinal);
            var baseStart = marker < 0 ? null : damaged.Name.Substring(marker + 3, 24);
            foreach (var backup in ordered.Where(b => b.Info.WalFileName == baseStart))
            {
                foreach (var name in listing.ChainOf(backup.Name).Names.Where(delete.Remove))
                {
                    keep[name] = $"{damaged.Name}, which cannot be read, may be built on it";
                }
            }
        }
    }

    private static IEnumerable<BackupDecision> Unreadable(IReadOnlyList<DamagedBackup> damaged) =>
        damaged.Select(d => new BackupDecision(d.Name, false, false, $"kept, with the WAL from its start on: it cannot be read ({d.Reason})"));

    private static PgArchiveException NotReadable(string name, IReadOnlyList<DamagedBackup> damaged) =>
        damaged.FirstOrDefault(d => d.Name == name) is { } bad
            ? new RetentionRefusedException($"{name} cannot be read, so what depends on it is unknown ({bad.Reason}): it cannot be the target of a delete.")
            : new BackupNotFoundException($"Backup '{name}' does not exist in the archive; backup-list shows the backups there are.");

    private static string DefaultKeepReason(RetentionRequest request, string? target) => request.Mode switch
    {
        RetentionMode.Target => "not targeted",
        RetentionMode.Before when target is not null => $"at or after {target}",
        _ => "kept",
    };

    /// <summary>
    /// Objects of backups that never got a sentinel and started before the oldest kept impermanent backup, except those
    /// a backup-push may still be writing (<paramref name="beingWritten"/>: noted in <paramref name="notes"/>).
    /// </summary>
    private static List<ObjectInfo> Leftovers(List<BackupDetail> complete, IReadOnlyList<DamagedBackup> damaged, IReadOnlyList<ObjectInfo> backupObjects,
        BackupDetail horizon, IReadOnlyDictionary<string, string> beingWritten, List<string> notes)
    {
        var names = complete.Select(b => b.Name).Concat(damaged.Select(d => d.Name)).ToHashSet(StringComparer.Ordinal);
        var leftovers = new List<ObjectInfo>();
        var spared = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var info in backupObjects)
        {
            if (UnfinishedBackupOf(info.Key) is not { } name || names.Contains(name) || string.CompareOrdinal(name.Substring(5, 24), horizon.Info.WalFileName) >= 0)
            {
                continue;
            }

            if (beingWritten.ContainsKey(name))
            {
                spared.Add(name);
            }
            else
            {
                leftovers.Add(info);
            }
        }

        notes.AddRange(spared.Select(name => $"{name} is unfinished and left alone: it {beingWritten[name]}."));
        return leftovers;
    }

    private static List<ObjectInfo> UnneededWal(List<BackupDetail> kept, IReadOnlyList<DamagedBackup> damaged, WalArchiveInventory wal, List<WalRetention> summary)
    {
        var size = wal.SegmentSize;
        var horizonIndex = kept.FindIndex(b => !b.IsPermanent);
        if (horizonIndex < 0)
        {
            horizonIndex = kept.Count - 1;
        }

        // A backup that cannot be read keeps the WAL from the start of the segment its name tells, as an impermanent one would.
        var pitr = kept.Skip(horizonIndex).Select(b => (b.Timeline, Start: StartSegment(b, size), b.StartLsn))
            .Concat(damaged.Select(d => WalSegment.TryParse(d.Info.WalFileName, out var start, size) ? start : (WalSegment?)null).OfType<WalSegment>()
                .Select(s => (s.Timeline, Start: s.Number, StartLsn: new Lsn(s.Number * (ulong)size))))
            .ToList();
        var consistency = kept.Take(horizonIndex).Select(b => (Backup: b, Start: StartSegment(b, size), Finish: b.FinishLsn.Value / (ulong)size)).ToList();

        bool Needed(WalSegment segment) =>
            pitr.Any(p => segment.Number >= p.Start && wal.LineageContains(segment.Timeline, p.Timeline, p.StartLsn)) ||
            consistency.Any(c => segment.Timeline == c.Backup.Timeline && segment.Number >= c.Start && segment.Number <= c.Finish);

        var unneeded = new List<ObjectInfo>();
        var perTimeline = new SortedDictionary<uint, (int Kept, int Deleted, string? First, string? Last)>();
        foreach (var item in wal.Objects)
        {
            if (item.Segment is not { } segment || item.Kind is null or WalFileKind.TimelineHistory)
            {
                continue; // history files and objects that are not WAL stay
            }

            var needed = Needed(segment);
            if (!needed)
            {
                unneeded.Add(item.Info);
            }

            if (item.Kind == WalFileKind.Segment)
            {
                var (k, d, first, last) = perTimeline.GetValueOrDefault(segment.Timeline);
                perTimeline[segment.Timeline] = needed
                    ? (k + 1, d, first ?? segment.FileName, segment.FileName)
                    : (k, d + 1, first, last);
            }
        }

        summary.AddRange(perTimeline.Select(p => new WalRetention(p.Key, p.Value.Kept, p.Value.Deleted, p.Value.First, p.Value.Last)));
        return unneeded;
    }

    /// <summary>The block maps of the segments deleted, and those whose segment is not archived at all (orphans).</summary>
    private static IEnumerable<ObjectInfo> UnneededBlockMaps(IReadOnlyList<ObjectInfo> blockMaps, List<ObjectInfo> unneededWal, WalArchiveInventory wal)
    {
        var deleted = unneededWal.Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
        var archived = wal.Objects.Where(o => o.Kind == WalFileKind.Segment && !deleted.Contains(o.Info.Key)).Select(o => o.FileName).ToHashSet(StringComparer.Ordinal);
        return blockMaps.Where(m => WalBlockMapStore.SegmentOf(m.Key) is { } segment && !archived.Contains(segment));
    }

    private static ulong StartSegment(BackupDetail backup, long segmentSize) =>
        WalSegment.TryParse(backup.Info.WalFileName, out var segment, segmentSize) ? segment.Number : backup.StartLsn.Value / (ulong)segmentSize;
}

/// <summary>A delete was refused: it would remove a permanent backup or break a delta chain. Nothing was deleted.</summary>
public sealed class RetentionRefusedException : PgArchiveException
{
    /// <inheritdoc />
    public RetentionRefusedException(string message) : base(message) { }

    /// <inheritdoc />
    public RetentionRefusedException(string message, Exception? innerException) : base(message, innerException) { }

    /// <inheritdoc />
    public RetentionRefusedException() : base("The delete was refused.") { }
}
