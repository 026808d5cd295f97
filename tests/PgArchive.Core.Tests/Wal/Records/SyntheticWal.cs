using System.Buffers.Binary;

namespace PgArchive.Wal.Records;

/// <summary>
/// Hand-built WAL: records laid out on 8 KiB pages of a 1 MiB segment as PostgreSQL lays them out (MAXALIGNed starts,
/// long header on the first page, short headers after, XLP_FIRST_IS_CONTRECORD and xlp_rem_len on pages that continue
/// a record), so the page- and segment-boundary cases can be placed exactly.
/// </summary>
internal static class SyntheticWal
{
    public const int PageSize = 8192;
    public const int SegmentSize = 1 << 20;

    /// <summary>One block reference of a hand-built record.</summary>
    public sealed record Block(RelationFork Fork, uint Number, bool SameRel = false, ushort DataLength = 0, (ushort Length, byte Info, bool HoleLength)? Image = null);

    /// <summary>The bytes of a record: header, block headers, main data header, block data, main data.</summary>
    public static byte[] Record(byte rmid, byte info, IReadOnlyList<Block> blocks, byte[] mainData)
    {
        var header = new List<byte>();
        var data = new List<byte>();
        byte id = 0;
        foreach (var b in blocks)
        {
            header.Add(id++);
            header.Add((byte)(b.Fork.Fork | (b.Image is null ? 0 : 0x10) | (b.DataLength > 0 ? 0x20 : 0) | (b.SameRel ? 0x80 : 0)));
            header.AddRange(U16(b.DataLength));
            if (b.Image is { } image)
            {
                header.AddRange(U16(image.Length));
                header.AddRange(U16(100)); // hole offset
                header.Add(image.Info);
                if (image.HoleLength)
                {
                    header.AddRange(U16(500));
                }

                data.AddRange(new byte[image.Length]);
            }

            if (!b.SameRel)
            {
                header.AddRange(U32(b.Fork.Tablespace));
                header.AddRange(U32(b.Fork.Database));
                header.AddRange(U32(b.Fork.Relation));
            }

            header.AddRange(U32(b.Number));
            data.AddRange(new byte[b.DataLength]);
        }

        if (mainData.Length > 0)
        {
            if (mainData.Length < 256)
            {
                header.Add(255);
                header.Add((byte)mainData.Length);
            }
            else
            {
                header.Add(254);
                header.AddRange(U32((uint)mainData.Length));
            }
        }

        var total = 24 + header.Count + data.Count + mainData.Length;
        var record = new byte[total];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)total);
        record[16] = info;
        record[17] = rmid;
        header.CopyTo(record, 24);
        data.CopyTo(record, 24 + header.Count);
        mainData.CopyTo(record, total - mainData.Length);
        return record;
    }

    /// <summary>A record of resource manager 10 (heap) of exactly <paramref name="length"/> bytes (at least 26), with no block.</summary>
    public static byte[] Filler(int length) => Record(10, 0, [], new byte[length - 26 < 256 ? length - 26 : length - 29]);

    /// <summary>
    /// Writes segment <paramref name="number"/>: first the rest of a record begun in the previous segment, when
    /// <paramref name="continuation"/> is given, then what <see cref="SegmentWriter.Add"/> adds.
    /// </summary>
    public sealed class SegmentWriter
    {
        private readonly byte[] _segment = new byte[SegmentSize];
        private readonly ulong _start;
        private readonly ushort _magic;

        public SegmentWriter(ulong number, byte[]? continuation = null, ushort magic = 0xD110)
        {
            _start = number * SegmentSize;
            _magic = magic;
            if (continuation is not null)
            {
                Write(continuation, alreadyContinued: true);
            }
            else
            {
                PageHeader(0, 0);
                Position = 40;
            }
        }

        /// <summary>Where the next record starts.</summary>
        public int Position { get; private set; }

        /// <summary>The bytes of the last record added that did not fit.</summary>
        public byte[] Overflow { get; private set; } = [];

        public byte[] Segment => _segment;

        /// <summary>Adds a record at <see cref="Position"/>; returns false when it ran past the segment's end (see <see cref="Overflow"/>).</summary>
        public bool Add(byte[] record)
        {
            if (Position % PageSize == 0 && Position < SegmentSize)
            {
                PageHeader(Position, 0);
                Position += 24;
            }

            Overflow = Write(record, alreadyContinued: false);
            return Overflow.Length == 0;
        }

        private void PageHeader(int at, uint remaining)
        {
            var span = _segment.AsSpan(at);
            BinaryPrimitives.WriteUInt16LittleEndian(span, _magic);
            BinaryPrimitives.WriteUInt16LittleEndian(span[2..], (ushort)((at == 0 ? 2 : 0) | (remaining > 0 ? 1 : 0)));
            BinaryPrimitives.WriteUInt32LittleEndian(span[4..], 1);
            BinaryPrimitives.WriteUInt64LittleEndian(span[8..], _start + (ulong)at);
            BinaryPrimitives.WriteUInt32LittleEndian(span[16..], remaining);
            if (at == 0)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(span[24..], 7);
                BinaryPrimitives.WriteUInt32LittleEndian(span[32..], SegmentSize);
                BinaryPrimitives.WriteUInt32LittleEndian(span[36..], PageSize);
            }
        }

        private byte[] Write(byte[] bytes, bool alreadyContinued)
        {
            var written = 0;
            while (written < bytes.Length)
            {
                if (Position == SegmentSize)
                {
                    return bytes[written..];
                }

                if (Position % PageSize == 0)
                {
                    PageHeader(Position, written > 0 || alreadyContinued ? (uint)(bytes.Length - written) : 0);
                    Position += Position == 0 ? 40 : 24;
                }

                var n = Math.Min(bytes.Length - written, PageSize - (Position % PageSize));
                bytes.AsSpan(written, n).CopyTo(_segment.AsSpan(Position));
                written += n;
                Position += n;
            }

            Position = (Position + 7) & ~7;
            return [];
        }
    }

    private static byte[] U16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        return b;
    }

    public static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }
}
