using System.Buffers.Binary;
using System.Globalization;

namespace PgArchive.Wal.Records;

/// <summary>How far <see cref="WalRecordDecoder.Decode"/> got with the bytes it was given.</summary>
internal enum WalDecodeOutcome
{
    /// <summary>Everything the record says about blocks is in the decoded record.</summary>
    Complete,

    /// <summary>The bytes end before the block reference headers do: nothing was decoded.</summary>
    HeaderIncomplete,

    /// <summary>The block references were decoded, but the record's main data (a commit's dropped relations, a truncation) lies beyond the bytes given.</summary>
    MainDataMissing,
}

/// <summary>
/// Decodes the header part of one WAL record (XLogRecord, then the block reference headers DecodeXLogRecord reads)
/// and, for the records PostgreSQL's WAL summarizer treats specially, the main data that sets limit blocks.
/// </summary>
internal static class WalRecordDecoder
{
    /// <summary>sizeof(XLogRecord).</summary>
    public const int RecordHeaderSize = 24;

    private const byte MaxBlockId = 32;
    private const byte BlockIdTopLevelXid = 252;
    private const byte BlockIdOrigin = 253;
    private const byte BlockIdDataLong = 254;
    private const byte BlockIdDataShort = 255;
    private const byte ForkMask = 0x0F;
    private const byte HasImage = 0x10;
    private const byte SameRel = 0x80;
    private const byte ImageHasHole = 0x01;

    public const byte RmXlog = 0;
    public const byte RmXact = 1;
    public const byte RmSmgr = 2;
    public const byte RmDbase = 4;

    /// <summary>
    /// Decodes <paramref name="bytes"/>, the first bytes (or all <paramref name="totalLength"/>) of the record at
    /// <c>record.Lsn</c>, into <paramref name="record"/>. Throws <see cref="FormatException"/> when the bytes cannot be a record of <paramref name="format"/>.
    /// </summary>
    public static WalDecodeOutcome Decode(ReadOnlySpan<byte> bytes, uint totalLength, WalFormat format, WalDecodedRecord record)
    {
        if (bytes.Length < RecordHeaderSize)
        {
            return WalDecodeOutcome.HeaderIncomplete;
        }

        record.Info = bytes[16];
        record.ResourceManager = bytes[17];
        var pos = RecordHeaderSize;
        long dataTotal = 0;
        uint mainLength = 0;
        RelationFork? previous = null;
        // As DecodeXLogRecord: headers go on while the bytes left exceed the data they announce (a record may have none).
        while (totalLength - pos > dataTotal)
        {
            if (!Have(bytes, pos, 1, totalLength, record))
            {
                return Incomplete(record);
            }

            var id = bytes[pos++];
            if (id == BlockIdDataShort)
            {
                if (!Have(bytes, pos, 1, totalLength, record))
                {
                    return Incomplete(record);
                }

                mainLength = bytes[pos++];
                break;
            }

            if (id == BlockIdDataLong)
            {
                if (!Have(bytes, pos, 4, totalLength, record))
                {
                    return Incomplete(record);
                }

                mainLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes[pos..]);
                pos += 4;
                break;
            }

            if (id is BlockIdOrigin or BlockIdTopLevelXid)
            {
                pos += id == BlockIdOrigin ? 2 : 4;
                continue;
            }

            if (id > MaxBlockId)
            {
                throw Invalid(record, $"block id {id}");
            }

            if (!Have(bytes, pos, 3, totalLength, record))
            {
                return Incomplete(record);
            }

            var flags = bytes[pos];
            dataTotal += BinaryPrimitives.ReadUInt16LittleEndian(bytes[(pos + 1)..]);
            pos += 3;
            if ((flags & HasImage) != 0)
            {
                if (!Have(bytes, pos, 5, totalLength, record))
                {
                    return Incomplete(record);
                }

                dataTotal += BinaryPrimitives.ReadUInt16LittleEndian(bytes[pos..]);
                var imageInfo = bytes[pos + 4];
                pos += 5;
                var compressed = format.ImageFlagsOf15 ? (imageInfo & 0x1C) != 0 : (imageInfo & 0x02) != 0;
                if ((imageInfo & ImageHasHole) != 0 && compressed)
                {
                    pos += 2; // hole length
                }
            }

            RelationFork fork;
            if ((flags & SameRel) == 0)
            {
                if (!Have(bytes, pos, 12, totalLength, record))
                {
                    return Incomplete(record);
                }

                fork = new RelationFork(BinaryPrimitives.ReadUInt32LittleEndian(bytes[pos..]), BinaryPrimitives.ReadUInt32LittleEndian(bytes[(pos + 4)..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(bytes[(pos + 8)..]), (byte)(flags & ForkMask));
                pos += 12;
            }
            else
            {
                fork = previous is { } p ? p with { Fork = (byte)(flags & ForkMask) } : throw Invalid(record, "BKPBLOCK_SAME_REL on its first block");
            }

            if (fork.Fork > RelationFork.MaxFork)
            {
                throw Invalid(record, $"fork {fork.Fork}");
            }

            if (!Have(bytes, pos, 4, totalLength, record))
            {
                return Incomplete(record);
            }

            record.BlockList.Add((fork, BinaryPrimitives.ReadUInt32LittleEndian(bytes[pos..])));
            pos += 4;
            previous = fork;
        }

        if (pos + dataTotal + mainLength != totalLength)
        {
            throw Invalid(record, string.Create(CultureInfo.InvariantCulture,
                $"its headers ({pos} bytes), block data ({dataTotal}) and main data ({mainLength}) do not add up to its length {totalLength}"));
        }

        if (!NeedsMainData(record, format))
        {
            return WalDecodeOutcome.Complete;
        }

        if (bytes.Length < totalLength)
        {
            return WalDecodeOutcome.MainDataMissing;
        }

        ReadLimits(bytes[(int)(totalLength - mainLength)..(int)totalLength], format, record);
        return WalDecodeOutcome.Complete;
    }

    private static bool NeedsMainData(WalDecodedRecord record, WalFormat format) => record.ResourceManager switch
    {
        RmSmgr => (record.Info & 0xF0) is 0x10 or 0x20,
        RmXact => (record.Info & 0x70) is 0x00 or 0x20 or 0x30 or 0x40,
        RmDbase => (record.Info & 0xF0) is 0x00 or 0x10 || (format.DatabaseCreateHasWalLog && (record.Info & 0xF0) == 0x20),
        _ => false,
    };

    private static void ReadLimits(ReadOnlySpan<byte> main, WalFormat format, WalDecodedRecord record)
    {
        try
        {
            switch (record.ResourceManager)
            {
                case RmSmgr:
                    ReadSmgr(main, record);
                    break;
                case RmXact:
                    ReadXact(main, record);
                    break;
                case RmDbase:
                    ReadDbase(main, format, record);
                    break;
            }
        }
        catch (ArgumentOutOfRangeException)
        {
            throw Invalid(record, "its main data is shorter than its kind needs");
        }
    }

    private static void ReadSmgr(ReadOnlySpan<byte> main, WalDecodedRecord record)
    {
        if ((record.Info & 0xF0) == 0x10)
        {
            // xl_smgr_create: RelFileNode, ForkNumber. The free space map is not fully WAL-logged: no limit for it, as the summarizer.
            var fork = (byte)BinaryPrimitives.ReadInt32LittleEndian(main[12..]);
            if (fork != RelationFork.FreeSpaceMapFork)
            {
                record.LimitList.Add((ReadNode(main, fork), 0));
            }

            return;
        }

        // xl_smgr_truncate: BlockNumber, RelFileNode, flags (1 heap, 2 visibility map, 4 free space map).
        var block = BinaryPrimitives.ReadUInt32LittleEndian(main);
        var flags = BinaryPrimitives.ReadInt32LittleEndian(main[16..]);
        if ((flags & 1) != 0)
        {
            record.LimitList.Add((ReadNode(main[4..], RelationFork.MainFork), block));
        }

        if ((flags & 2) != 0)
        {
            record.LimitList.Add((ReadNode(main[4..], RelationFork.VisibilityMapFork), VisibilityMapLength(block)));
        }
    }

    /// <summary>
    /// The visibility map's length in blocks for a heap of <paramref name="heapBlocks"/> blocks (PostgreSQL's
    /// visibilitymap_truncation_length, the limit its WAL summarizer records for the map): 2 bits a heap block on 8 KiB
    /// pages of 8168 bytes of bits after the page header; a map block only partly used still counts.
    /// </summary>
    internal static uint VisibilityMapLength(uint heapBlocks)
    {
        const uint heapBlocksPerPage = (8192 - 24) * 4;
        return (heapBlocks / heapBlocksPerPage) + (heapBlocks % heapBlocksPerPage == 0 ? 0u : 1u);
    }

    private static void ReadXact(ReadOnlySpan<byte> main, WalDecodedRecord record)
    {
        // xl_xact_commit / xl_xact_abort: xact_time, then (when XLOG_XACT_HAS_INFO) xinfo and the parts it announces.
        if ((record.Info & 0x80) == 0)
        {
            return;
        }

        var xinfo = BinaryPrimitives.ReadUInt32LittleEndian(main[8..]);
        var pos = 12;
        if ((xinfo & 1) != 0)
        {
            pos += 8; // xl_xact_dbinfo
        }

        if ((xinfo & 2) != 0)
        {
            pos += 4 + (4 * BinaryPrimitives.ReadInt32LittleEndian(main[pos..])); // subtransactions
        }

        if ((xinfo & 4) == 0)
        {
            return;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(main[pos..]);
        pos += 4;
        for (var i = 0; i < count; i++, pos += 12)
        {
            for (byte fork = 0; fork <= RelationFork.MaxFork; fork++)
            {
                if (fork != RelationFork.FreeSpaceMapFork)
                {
                    record.LimitList.Add((ReadNode(main[pos..], fork), 0));
                }
            }
        }
    }

    private static void ReadDbase(ReadOnlySpan<byte> main, WalFormat format, WalDecodedRecord record)
    {
        var kind = record.Info & 0xF0;
        var database = BinaryPrimitives.ReadUInt32LittleEndian(main);
        var isDrop = format.DatabaseCreateHasWalLog ? kind == 0x20 : kind == 0x10;
        if (!isDrop)
        {
            // CREATE (FILE_COPY) and, from 15, CREATE WAL_LOG: db_id, tablespace_id first.
            record.LimitList.Add((new RelationFork(BinaryPrimitives.ReadUInt32LittleEndian(main[4..]), database, 0, RelationFork.MainFork), 0));
            return;
        }

        if (!format.DropDatabaseListsTablespaces)
        {
            record.LimitList.Add((new RelationFork(BinaryPrimitives.ReadUInt32LittleEndian(main[4..]), database, 0, RelationFork.MainFork), 0));
            return;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(main[4..]);
        for (var i = 0; i < count; i++)
        {
            record.LimitList.Add((new RelationFork(BinaryPrimitives.ReadUInt32LittleEndian(main[(8 + (4 * i))..]), database, 0, RelationFork.MainFork), 0));
        }
    }

    private static RelationFork ReadNode(ReadOnlySpan<byte> node, byte fork) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(node), BinaryPrimitives.ReadUInt32LittleEndian(node[4..]), BinaryPrimitives.ReadUInt32LittleEndian(node[8..]), fork);

    /// <summary>True when <paramref name="count"/> bytes at <paramref name="pos"/> are present; throws when they would lie past the record's end.</summary>
    private static bool Have(ReadOnlySpan<byte> bytes, int pos, int count, uint totalLength, WalDecodedRecord record) =>
        pos + count <= totalLength
            ? pos + count <= bytes.Length
            : throw Invalid(record, "its block headers run past its length");

    private static WalDecodeOutcome Incomplete(WalDecodedRecord record)
    {
        record.BlockList.Clear();
        return WalDecodeOutcome.HeaderIncomplete;
    }

    private static FormatException Invalid(WalDecodedRecord record, string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"The WAL record at {record.Lsn} cannot be decoded: {what}."));
}
