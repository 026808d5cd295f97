namespace PgArchive.Backups.Delta;

/// <summary>
/// Which blocks of which relation forks changed in a WAL range (from a base backup's start LSN to a delta's), whatever
/// told it (PostgreSQL 17's WAL summaries, WAL records read as they are archived): for each fork a set of changed
/// blocks and an optional limit block, the smallest length the fork had in the range — every block at or after it
/// counts as changed if it exists (the fork was created, dropped and recreated, or truncated). The same meaning as
/// PostgreSQL's block reference table (<c>blkreftable.c</c>), so merging ranges in any order gives the same map.
/// A database created or dropped in the range is marked by <see cref="MarkDatabaseReplaced"/> (PostgreSQL's
/// relfilenumber-0 entry): all of its files are then stored whole.
/// <see cref="Select"/> answers, for one data-directory file, which of its blocks a delta reads.
/// </summary>
internal sealed class ChangedBlockMap
{
    /// <summary>Blocks in a 1 GiB relation segment (PostgreSQL's RELSEG_SIZE with 8 KiB blocks).</summary>
    public const uint BlocksPerSegment = 131072;

    /// <summary>When more than this fraction of a file's blocks changed, it is stored whole (PostgreSQL 17's rule).</summary>
    public const double WholeFileFraction = 0.9;

    private readonly Dictionary<RelationFork, Entry> _forks = [];

    /// <summary>Relation forks the map says something about.</summary>
    public int ForkCount => _forks.Count;

    /// <summary>Changed blocks named (limit blocks not counted).</summary>
    public long BlockCount { get; private set; }

    /// <summary>Bytes held for the block sets (the per-block cost: at most 2 bytes, 1 bit when dense).</summary>
    public long PayloadBytes => _forks.Values.Sum(e => e.Blocks?.PayloadBytes ?? 0);

    /// <summary>Records that <paramref name="block"/> of <paramref name="fork"/> changed.</summary>
    public void MarkChanged(RelationFork fork, uint block)
    {
        var entry = EntryOf(fork);
        if ((entry.Blocks ??= new BlockSet()).Add(block))
        {
            BlockCount++;
        }
    }

    /// <summary>Lowers the limit block of <paramref name="fork"/> to <paramref name="limit"/> (0 when created or dropped, the new length when truncated).</summary>
    public void SetLimitBlock(RelationFork fork, uint limit)
    {
        var entry = EntryOf(fork);
        entry.Limit = Math.Min(entry.Limit, limit);
    }

    /// <summary>Records that database <paramref name="database"/> in <paramref name="tablespace"/> was created or dropped in the range.</summary>
    public void MarkDatabaseReplaced(uint tablespace, uint database) => SetLimitBlock(DatabaseMarker(tablespace, database), 0);

    /// <summary>The limit block of <paramref name="fork"/>, or null when it has none.</summary>
    public uint? LimitBlockOf(RelationFork fork) => _forks.TryGetValue(fork, out var entry) && entry.Limit != uint.MaxValue ? entry.Limit : null;

    /// <summary>
    /// Which blocks of the data-directory file <paramref name="tarPath"/> (<c>base/16384/16385.2</c>; its size
    /// <paramref name="fileSize"/>) a delta stores, by PostgreSQL 17's rules (<c>GetFileBackupMethod</c>): whole when
    /// the path is no relation file, its size is not whole blocks or exceeds a segment, it is a free space map (not
    /// WAL-logged), its database was replaced, its limit block is at or before the segment's first block, or more than
    /// 90% of its blocks changed; otherwise the changed blocks within the file plus every block from the limit block on,
    /// segment-relative. A fork the map does not name is unchanged: no blocks. Whether the file was in the base at all is the caller's
    /// question (a file the base lacks is stored whole).
    /// </summary>
    public BlockSelection Select(string tarPath, long fileSize)
    {
        ArgumentNullException.ThrowIfNull(tarPath);
        if (!RelationFork.TryParse(tarPath, out var fork, out var segment) ||
            fileSize < 0 || fileSize % PageIncrement.PageSize != 0 || fileSize / PageIncrement.PageSize > BlocksPerSegment ||
            fork.Fork == RelationFork.FreeSpaceMapFork ||
            _forks.ContainsKey(DatabaseMarker(fork.Tablespace, fork.Database)))
        {
            return BlockSelection.Whole;
        }

        if (!_forks.TryGetValue(fork, out var entry))
        {
            return BlockSelection.Of([]);
        }

        var first = (ulong)segment * BlocksPerSegment;
        var blocks = (uint)(fileSize / PageIncrement.PageSize);
        if (entry.Limit <= first)
        {
            return BlockSelection.Whole;
        }

        // Blocks before the limit: those named; from the limit to the end of the file: all of them.
        var fromLimit = (uint)Math.Min(blocks, entry.Limit - first);
        var selected = new List<uint>();
        if (entry.Blocks is { } set)
        {
            foreach (var block in set.InRange((uint)first, (uint)(first + fromLimit)))
            {
                selected.Add((uint)(block - first));
            }
        }

        for (var block = fromLimit; block < blocks; block++)
        {
            selected.Add(block);
        }

        return selected.Count > blocks * WholeFileFraction ? BlockSelection.Whole : BlockSelection.Of(selected);
    }

    private static RelationFork DatabaseMarker(uint tablespace, uint database) => new(tablespace, database, 0, RelationFork.MainFork);

    private Entry EntryOf(RelationFork fork)
    {
        if (!_forks.TryGetValue(fork, out var entry))
        {
            entry = new Entry();
            _forks.Add(fork, entry);
        }

        return entry;
    }

    private sealed class Entry
    {
        public uint Limit = uint.MaxValue;
        public BlockSet? Blocks;
    }
}
