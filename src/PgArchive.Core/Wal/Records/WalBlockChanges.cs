namespace PgArchive.Wal.Records;

/// <summary>
/// Changed blocks per relation fork and the lowest limit block seen per fork. Adding is a set union (blocks) and a
/// minimum (limits), so the result does not depend on the order records or segments are added in: a block changed
/// before a truncation stays listed, which only makes a delta read one block more (the limit already says every block
/// from it on must be read).
/// </summary>
internal sealed class WalBlockChanges
{
    private readonly Dictionary<RelationFork, HashSet<uint>> _blocks = [];
    private readonly Dictionary<RelationFork, uint> _limits = [];

    /// <summary>The forks with changed blocks.</summary>
    public IReadOnlyDictionary<RelationFork, HashSet<uint>> Blocks => _blocks;

    /// <summary>The forks with a limit block: created (0), truncated (new size), dropped (0); relation 0 stands for a whole database.</summary>
    public IReadOnlyDictionary<RelationFork, uint> Limits => _limits;

    /// <summary>Number of distinct (fork, block) pairs.</summary>
    public int BlockCount => _blocks.Values.Sum(b => b.Count);

    public void AddBlock(RelationFork fork, uint block)
    {
        if (!_blocks.TryGetValue(fork, out var set))
        {
            _blocks[fork] = set = [];
        }

        set.Add(block);
    }

    public void AddLimit(RelationFork fork, uint limit) =>
        _limits[fork] = _limits.TryGetValue(fork, out var existing) ? Math.Min(existing, limit) : limit;

    public void Add(WalDecodedRecord record)
    {
        foreach (var (fork, block) in record.BlockList)
        {
            AddBlock(fork, block);
        }

        foreach (var (fork, limit) in record.LimitList)
        {
            AddLimit(fork, limit);
        }
    }

    public void Add(WalBlockChanges other)
    {
        foreach (var (fork, blocks) in other._blocks)
        {
            if (!_blocks.TryGetValue(fork, out var set))
            {
                _blocks[fork] = set = [];
            }

            set.UnionWith(blocks);
        }

        foreach (var (fork, limit) in other._limits)
        {
            AddLimit(fork, limit);
        }
    }
}
