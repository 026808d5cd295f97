namespace PgArchive.Retention;

/// <summary>The kinds of <c>delete</c>, as WAL-G names them.</summary>
public enum RetentionMode
{
    /// <summary><c>delete retain [FULL|FIND_FULL] N</c>: keep the newest N backups.</summary>
    Retain,

    /// <summary><c>delete before [FIND_FULL] NAME|TIME</c>: delete what is older than a backup.</summary>
    Before,

    /// <summary><c>delete everything [FORCE]</c>: every backup and every WAL file.</summary>
    Everything,

    /// <summary><c>delete target [FIND_FULL] NAME</c>: one backup (and the deltas built on it).</summary>
    Target,

    /// <summary><c>delete garbage</c>: WAL no backup needs and leftovers of unfinished backups.</summary>
    Garbage,

    /// <summary>
    /// <c>delete old-versions</c> (WAL-E's): everything earlier WAL-E versions stored, <c>basebackups_000/</c> to
    /// <c>basebackups_004/</c> and <c>wal_000/</c> to <c>wal_004/</c>; nothing of the current layout.
    /// </summary>
    OldVersions,
}

/// <summary>How <c>delete retain</c> counts.</summary>
public enum RetainModifier
{
    /// <summary>Keep N backups of any kind.</summary>
    None,

    /// <summary><c>FULL</c>: keep N full backups and the deltas built on them.</summary>
    Full,

    /// <summary><c>FIND_FULL</c>: keep N backups and whatever older backups the oldest of them needs, back to a full one.</summary>
    FindFull,
}

/// <summary>What <c>delete garbage</c> looks at.</summary>
public enum GarbageScope
{
    /// <summary>Unneeded WAL and leftovers of unfinished backups.</summary>
    All,

    /// <summary><c>ARCHIVES</c>: unneeded WAL only.</summary>
    Archives,

    /// <summary><c>BACKUPS</c>: leftovers of unfinished backups only.</summary>
    Backups,
}

/// <summary>What to delete; build one with the static methods.</summary>
public sealed class RetentionRequest
{
    private RetentionRequest(RetentionMode mode) => Mode = mode;

    /// <summary>The kind of delete.</summary>
    public RetentionMode Mode { get; }

    /// <summary>Retain: how many backups to keep.</summary>
    public int Count { get; private init; }

    /// <summary>Retain: how they are counted.</summary>
    public RetainModifier Modifier { get; private init; }

    /// <summary>Before and Target: the backup named.</summary>
    public string? BackupName { get; private init; }

    /// <summary>Before: the instant; backups whose time is at or after it are kept.</summary>
    public DateTimeOffset? BeforeTime { get; private init; }

    /// <summary>Before and Target: FIND_FULL.</summary>
    public bool FindFull { get; private init; }

    /// <summary>Garbage: what to look at.</summary>
    public GarbageScope Scope { get; private init; }

    /// <summary>Everything: FORCE, deleting permanent backups too.</summary>
    public bool Force { get; private init; }

    /// <summary>Retain <c>--after NAME</c>: the backups from the first whose name starts with this on are kept too.</summary>
    public string? AfterBackup { get; private init; }

    /// <summary>Retain <c>--after TIME</c>: the backups taken at or after this instant are kept too.</summary>
    public DateTimeOffset? AfterTime { get; private init; }

    /// <summary>
    /// Order backups by the start time their sentinel records (<c>--use-sentinel-time</c>) instead of by timeline
    /// and start segment (WAL-G's default); a backup's time for <c>before TIME</c> becomes its start time too.
    /// </summary>
    public bool UseSentinelTime { get; private set; }

    /// <summary>This request, ordering backups by their recorded start time (<c>--use-sentinel-time</c>).</summary>
    public RetentionRequest UsingSentinelTime()
    {
        var copy = (RetentionRequest)MemberwiseClone();
        copy.UseSentinelTime = true;
        return copy;
    }

    /// <summary><c>delete retain [FULL|FIND_FULL] N</c>.</summary>
    public static RetentionRequest Retain(int count, RetainModifier modifier = RetainModifier.None)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new RetentionRequest(RetentionMode.Retain) { Count = count, Modifier = modifier };
    }

    /// <summary>
    /// <c>delete retain [FULL|FIND_FULL] N --after NAME</c> (WAL-G's): keep the newest N backups and, besides, every backup
    /// from the first whose name starts with <paramref name="afterBackup"/> on (with FULL or FIND_FULL, from the first such
    /// full backup); what is older than the older of the two is deleted.
    /// </summary>
    public static RetentionRequest RetainAfter(int count, RetainModifier modifier, string afterBackup)
    {
        ArgumentException.ThrowIfNullOrEmpty(afterBackup);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new RetentionRequest(RetentionMode.Retain) { Count = count, Modifier = modifier, AfterBackup = afterBackup };
    }

    /// <summary><c>delete retain [FULL|FIND_FULL] N --after TIME</c>: as <see cref="RetainAfter(int, RetainModifier, string)"/>, keeping the backups taken at or after <paramref name="afterTime"/>.</summary>
    public static RetentionRequest RetainAfter(int count, RetainModifier modifier, DateTimeOffset afterTime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new RetentionRequest(RetentionMode.Retain) { Count = count, Modifier = modifier, AfterTime = afterTime };
    }

    /// <summary><c>delete before [FIND_FULL] NAME</c>.</summary>
    public static RetentionRequest BeforeBackup(string backupName, bool findFull = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(backupName);
        return new RetentionRequest(RetentionMode.Before) { BackupName = backupName, FindFull = findFull };
    }

    /// <summary><c>delete before [FIND_FULL] TIME</c>.</summary>
    public static RetentionRequest BeforeTimestamp(DateTimeOffset time, bool findFull = false) =>
        new(RetentionMode.Before) { BeforeTime = time, FindFull = findFull };

    /// <summary><c>delete everything [FORCE]</c>.</summary>
    public static RetentionRequest Everything(bool force = false) => new(RetentionMode.Everything) { Force = force };

    /// <summary><c>delete target [FIND_FULL] NAME</c>.</summary>
    public static RetentionRequest Target(string backupName, bool findFull = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(backupName);
        return new RetentionRequest(RetentionMode.Target) { BackupName = backupName, FindFull = findFull };
    }

    /// <summary><c>delete garbage [ARCHIVES|BACKUPS]</c>.</summary>
    public static RetentionRequest Garbage(GarbageScope scope = GarbageScope.All) => new(RetentionMode.Garbage) { Scope = scope };

    /// <summary><c>delete old-versions</c>.</summary>
    public static RetentionRequest OldVersions() => new(RetentionMode.OldVersions);

    /// <summary>The command line this request stands for, e.g. <c>retain FULL 3</c>.</summary>
    public override string ToString() => Mode switch
    {
        RetentionMode.Retain => Modifier switch
        {
            RetainModifier.Full => $"retain FULL {Count}",
            RetainModifier.FindFull => $"retain FIND_FULL {Count}",
            _ => $"retain {Count}",
        } + (AfterBackup ?? AfterTime?.ToString("O", System.Globalization.CultureInfo.InvariantCulture)) switch
        {
            null => "",
            var after => " --after " + after,
        },
        RetentionMode.Before => "before " + (FindFull ? "FIND_FULL " : "") + (BackupName ?? BeforeTime!.Value.ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
        RetentionMode.Everything => Force ? "everything FORCE" : "everything",
        RetentionMode.Target => "target " + (FindFull ? "FIND_FULL " : "") + BackupName,
        RetentionMode.OldVersions => "old-versions",
        _ => Scope switch
        {
            GarbageScope.Archives => "garbage ARCHIVES",
            GarbageScope.Backups => "garbage BACKUPS",
            _ => "garbage",
        },
    };
}
