using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace PgArchive.Wal.Records;

/// <summary>
/// The block map of one WAL segment: the blocks and limit blocks of every record that starts in it, plus the two
/// pieces that let a reader finish the records cut by the segment's edges whatever order segments were mapped in:
/// <see cref="ContinuationBytes"/>, the first bytes of the record continued from the previous segment (its head is
/// unknown here), and <see cref="TailBytes"/>, the bytes of the record the segment ends inside. A reader joins a
/// segment's tail with the next segment's continuation and decodes the record then.
/// </summary>
internal sealed class WalBlockMap
{
    /// <summary>The most bytes of one record kept (a record's block headers fit in far less; main data may not).</summary>
    public const int MaxKeptRecordBytes = 1 << 20;

    private static ReadOnlySpan<byte> Magic => "PGAWBMAP"u8;

    private const ushort Version = 1;

    public required ushort PageMagic { get; init; }

    public required uint Timeline { get; init; }

    /// <summary>The segment's number (its start LSN divided by the segment size).</summary>
    public required ulong SegmentNumber { get; init; }

    public required uint SegmentSize { get; init; }

    /// <summary>Where valid WAL ended inside the segment: the segment size when it runs to the end.</summary>
    public uint ValidBytes { get; set; }

    public WalBlockChanges Changes { get; } = new();

    /// <summary>Why the map cannot stand for its segment (a record too large to keep whose main data matters); null when it can.</summary>
    public string? Unusable { get; set; }

    /// <summary>xlp_rem_len of the segment's first page when it continues a record; 0 otherwise.</summary>
    public uint ContinuationLength { get; set; }

    /// <summary>The first bytes (up to <see cref="MaxKeptRecordBytes"/>) of that continuation found in this segment.</summary>
    public byte[] ContinuationBytes { get; set; } = [];

    /// <summary>Start of the record the segment ends inside; 0 when the last record ends in the segment.</summary>
    public ulong TailLsn { get; set; }

    /// <summary>That record's xl_tot_len.</summary>
    public uint TailTotalLength { get; set; }

    /// <summary>How many of its bytes lie in this segment (<see cref="TailBytes"/> holds the first of them, up to <see cref="MaxKeptRecordBytes"/>).</summary>
    public uint TailLengthHere { get; set; }

    public byte[] TailBytes { get; set; } = [];

    public ulong StartLsn => SegmentNumber * SegmentSize;

    /// <summary>The serialized map (before compression and encryption).</summary>
    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        buffer.Write(Magic);
        var scratch = new byte[8];
        void U16(ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(scratch, v); buffer.Write(scratch, 0, 2); }
        void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(scratch, v); buffer.Write(scratch, 0, 4); }
        void U64(ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(scratch, v); buffer.Write(scratch, 0, 8); }
        void Fork(RelationFork f) { U32(f.Tablespace); U32(f.Database); U32(f.Relation); buffer.WriteByte(f.Fork); }
        void Bytes(byte[] b) { U32((uint)b.Length); buffer.Write(b); }

        U16(Version);
        U16(PageMagic);
        U32(Timeline);
        U64(SegmentNumber);
        U32(SegmentSize);
        U32(ValidBytes);
        Bytes(Unusable is null ? [] : Encoding.UTF8.GetBytes(Unusable));
        U32(ContinuationLength);
        Bytes(ContinuationBytes);
        U64(TailLsn);
        U32(TailTotalLength);
        U32(TailLengthHere);
        Bytes(TailBytes);
        U32((uint)Changes.Limits.Count);
        foreach (var (fork, limit) in Changes.Limits.OrderBy(l => l.Key))
        {
            Fork(fork);
            U32(limit);
        }

        U32((uint)Changes.Blocks.Count);
        foreach (var (fork, blocks) in Changes.Blocks.OrderBy(b => b.Key))
        {
            Fork(fork);
            U32((uint)blocks.Count);
            uint previous = 0;
            foreach (var block in blocks.Order())
            {
                // Sorted block numbers as LEB128 gaps: a few bytes each where pages change near each other.
                for (var gap = block - previous; ; gap >>= 7)
                {
                    if (gap < 0x80)
                    {
                        buffer.WriteByte((byte)gap);
                        break;
                    }

                    buffer.WriteByte((byte)(gap | 0x80));
                }

                previous = block;
            }
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a serialized map; <see cref="FormatException"/> when it is not one.</summary>
    public static WalBlockMap FromBytes(byte[] data, string source)
    {
        var pos = 0;
        try
        {
            if (!data.AsSpan().StartsWith(Magic))
            {
                throw new FormatException($"'{source}' is not a WAL block map.");
            }

            pos = Magic.Length;
            ushort U16() { var v = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(pos)); pos += 2; return v; }
            uint U32() { var v = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(pos)); pos += 4; return v; }
            ulong U64() { var v = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(pos)); pos += 8; return v; }
            RelationFork Fork() { var f = new RelationFork(U32(), U32(), U32(), data[pos]); pos++; return f; }
            byte[] Bytes() { var n = (int)U32(); var b = data.AsSpan(pos, n).ToArray(); pos += n; return b; }

            var version = U16();
            if (version != Version)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"'{source}' is a WAL block map of version {version}; this build reads version {Version}."));
            }

            var map = new WalBlockMap { PageMagic = U16(), Timeline = U32(), SegmentNumber = U64(), SegmentSize = U32() };
            map.ValidBytes = U32();
            var unusable = Bytes();
            map.Unusable = unusable.Length == 0 ? null : Encoding.UTF8.GetString(unusable);
            map.ContinuationLength = U32();
            map.ContinuationBytes = Bytes();
            map.TailLsn = U64();
            map.TailTotalLength = U32();
            map.TailLengthHere = U32();
            map.TailBytes = Bytes();
            for (var n = U32(); n > 0; n--)
            {
                map.Changes.AddLimit(Fork(), U32());
            }

            for (var forks = U32(); forks > 0; forks--)
            {
                var fork = Fork();
                uint block = 0;
                for (var count = U32(); count > 0; count--)
                {
                    uint gap = 0;
                    for (var shift = 0; ; shift += 7)
                    {
                        var b = data[pos++];
                        gap |= (uint)(b & 0x7F) << shift;
                        if (b < 0x80)
                        {
                            break;
                        }
                    }

                    block += gap;
                    map.Changes.AddBlock(fork, block);
                }
            }

            return pos == data.Length ? map : throw new FormatException($"'{source}' has bytes after its end.");
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"'{source}' is cut short (at byte {pos})."), ex);
        }
    }
}
