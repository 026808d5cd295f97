using PgArchive.PostgresTypes;

namespace PgArchive.Wal.Records;

/// <summary>
/// What one WAL record says about data files: its position and resource manager, the blocks it references
/// (full-page images included) and the "limit blocks" it sets (a fork created: 0; truncated: its new size;
/// dropped at commit or abort: 0 for every fork; a database created or dropped: 0 for relation 0 of it).
/// One instance is reused from record to record: copy what you keep.
/// </summary>
internal sealed class WalDecodedRecord
{
    internal List<(RelationFork Fork, uint Block)> BlockList { get; } = [];

    internal List<(RelationFork Fork, uint Limit)> LimitList { get; } = [];

    /// <summary>Where the record starts.</summary>
    public Lsn Lsn { get; internal set; }

    /// <summary>Its length in bytes (xl_tot_len).</summary>
    public uint TotalLength { get; internal set; }

    /// <summary>The resource manager id (xl_rmid): 0 XLOG, 1 Transaction, 2 Storage, 4 Database, 10 Heap...</summary>
    public byte ResourceManager { get; internal set; }

    /// <summary>xl_info.</summary>
    public byte Info { get; internal set; }

    /// <summary>The blocks the record references, in block id order.</summary>
    public IReadOnlyList<(RelationFork Fork, uint Block)> Blocks => BlockList;

    /// <summary>The limit blocks the record sets.</summary>
    public IReadOnlyList<(RelationFork Fork, uint Limit)> Limits => LimitList;

    internal void Reset(Lsn lsn, uint totalLength)
    {
        Lsn = lsn;
        TotalLength = totalLength;
        ResourceManager = 0;
        Info = 0;
        BlockList.Clear();
        LimitList.Clear();
    }
}
