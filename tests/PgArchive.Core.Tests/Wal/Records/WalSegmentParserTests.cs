using static PgArchive.Wal.Records.SyntheticWal;

namespace PgArchive.Wal.Records;

public sealed class WalSegmentParserTests
{
    private static readonly RelationFork Heap = new(1663, 5, 16384, 0);
    private static readonly RelationFork Other = new(1663, 5, 16390, 0);
    private static readonly WalFormat Pg15 = WalFormat.FromMagic(0xD110)!;
    private static readonly WalFormat Pg14 = WalFormat.FromMagic(0xD10D)!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static byte[] Update(uint block, ushort imageLength = 0) =>
        Record(10, 0x20, [new Block(Heap, block, DataLength: 30, Image: imageLength == 0 ? null : (imageLength, 0x00, false)), new Block(Heap with { Fork = 2 }, 0, SameRel: true)], new byte[14]);

    private static byte[] CommitDropping(params RelationFork[] dropped)
    {
        // xl_xact_commit: xact_time, xinfo = HAS_RELFILENODES (4), nrels, RelFileNodes.
        var main = new List<byte>(new byte[8]);
        main.AddRange(U32(4));
        main.AddRange(U32((uint)dropped.Length));
        foreach (var d in dropped)
        {
            main.AddRange(U32(d.Tablespace));
            main.AddRange(U32(d.Database));
            main.AddRange(U32(d.Relation));
        }

        return Record(1, 0x80, [], [.. main]);
    }

    private static async Task<(WalBlockMap Map, List<(ulong Lsn, List<(RelationFork, uint)> Blocks)> Records)> ParseAsync(byte[] segment)
    {
        var records = new List<(ulong, List<(RelationFork, uint)>)>();
        var parse = await WalSegmentParser.ParseAsync(new MemoryStream(segment), r => records.Add((r.Lsn.Value, [.. r.Blocks])), Token);
        return (parse.Map ?? throw new InvalidOperationException(parse.Reason), records);
    }

    [Fact]
    public async Task Parse_decodes_a_record_whose_header_straddles_a_page_boundary()
    {
        var writer = new SegmentWriter(3);
        writer.Add(Filler(PageSize - 16 - 40)); // the next record starts 16 bytes before the first page's end
        Assert.Equal(PageSize - 16, writer.Position);
        writer.Add(Update(7, imageLength: 3000));
        writer.Add(Update(9));

        var (map, records) = await ParseAsync(writer.Segment);

        Assert.Equal(3, records.Count);
        Assert.Equal((3UL * SegmentSize) + PageSize - 16, records[1].Lsn);
        Assert.Equal([(Heap, 7u), (Heap with { Fork = 2 }, 0u)], records[1].Blocks);
        Assert.Equal([(Heap, 9u), (Heap with { Fork = 2 }, 0u)], records[2].Blocks);
        Assert.Equal([7u, 9u], map.Changes.Blocks[Heap].Order());
        Assert.Equal(0UL, map.TailLsn);
    }

    [Theory]
    [InlineData(16)]   // the segment ends inside the record header
    [InlineData(40)]   // ... inside the block headers
    [InlineData(200)]  // ... after the block headers, inside the main data
    public async Task A_record_cut_by_the_segment_end_counts_through_the_join_whichever_segment_is_parsed_first(int bytesInFirst)
    {
        var first = new SegmentWriter(3);
        while (SegmentSize - first.Position > 3000)
        {
            first.Add(Filler(2000));
        }

        first.Add(Filler(SegmentSize - first.Position - bytesInFirst));
        Assert.Equal(SegmentSize - bytesInFirst, first.Position);
        var cut = Record(10, 0x20, [new Block(Other, 42, DataLength: 100)], new byte[300]);
        var commit = CommitDropping([Heap, .. Enumerable.Range(1, 19).Select(i => Other with { Relation = 20000u + (uint)i })]); // about 290 bytes
        Assert.False(first.Add(bytesInFirst == 200 ? commit : cut));
        var second = new SegmentWriter(4, first.Overflow);
        second.Add(Update(1));

        // The second segment is mapped before the first, as parallel uploads may do.
        var (secondMap, secondRecords) = await ParseAsync(second.Segment);
        var (firstMap, _) = await ParseAsync(first.Segment);

        Assert.Equal((uint)(bytesInFirst == 200 ? commit : cut).Length - (uint)bytesInFirst, secondMap.ContinuationLength);
        Assert.Equal((4UL * SegmentSize) + 40 + (ulong)((first.Overflow.Length + 7) & ~7), secondRecords[0].Lsn);
        Assert.Equal((3UL * SegmentSize) + SegmentSize - (ulong)bytesInFirst, firstMap.TailLsn);
        var joined = new WalBlockChanges();
        Assert.Null(WalBlockMapReader.Join(WalBlockMap.FromBytes(firstMap.ToBytes(), "first"), WalBlockMap.FromBytes(secondMap.ToBytes(), "second"), Pg15, joined));
        if (bytesInFirst == 200)
        {
            Assert.Equal(0u, joined.Limits[Heap]);
            Assert.Equal(0u, joined.Limits[Heap with { Fork = 2 }]);
            Assert.False(joined.Limits.ContainsKey(Heap with { Fork = 1 }));
        }
        else
        {
            Assert.Equal([42u], joined.Blocks[Other]);
        }
    }

    [Fact]
    public async Task A_record_spanning_a_whole_segment_is_joined_from_the_first_bytes_the_next_map_keeps()
    {
        var first = new SegmentWriter(3);
        while (SegmentSize - first.Position > 3000)
        {
            first.Add(Filler(2000));
        }

        var huge = Record(10, 0, [new Block(Other, 5, Image: (60000, 0, false)), new Block(Heap, 6)], new byte[3 * SegmentSize / 2]);
        Assert.False(first.Add(huge));
        var second = new SegmentWriter(4, first.Overflow);

        var (firstMap, _) = await ParseAsync(first.Segment);
        var (secondMap, secondRecords) = await ParseAsync(second.Segment);

        Assert.Empty(secondRecords);
        var joined = new WalBlockChanges();
        Assert.Null(WalBlockMapReader.Join(firstMap, secondMap, Pg15, joined));
        Assert.Equal([5u], joined.Blocks[Other]);
        Assert.Equal([6u], joined.Blocks[Heap]);
    }

    [Fact]
    public void Image_header_flags_are_read_by_the_version_14_and_15_layouts()
    {
        // 0x03 = HAS_HOLE | 0x02: before 15, 0x02 is IS_COMPRESSED and a 2-byte hole length follows; from 15 it is APPLY and none does.
        var fourteen = Record(10, 0, [new Block(Heap, 77, Image: (4000, 0x03, true))], []);
        var fifteen = Record(10, 0, [new Block(Heap, 77, Image: (4000, 0x03, false))], []);
        var fifteenCompressed = Record(10, 0, [new Block(Heap, 78, Image: (4000, 0x01 | 0x08, true))], []); // HAS_HOLE | COMPRESS_LZ4

        Assert.Equal([(Heap, 77u)], Decode(fourteen, Pg14));
        Assert.Equal([(Heap, 77u)], Decode(fifteen, Pg15));
        Assert.Equal([(Heap, 78u)], Decode(fifteenCompressed, Pg15));
        Assert.Throws<FormatException>(() => Decode(fifteen, Pg14)); // the 14 layout reads two bytes too many: the lengths no longer add up
    }

    [Fact]
    public async Task Parse_gives_no_map_and_names_the_magic_of_an_unknown_version()
    {
        var writer = new SegmentWriter(3, magic: 0xD120);
        writer.Add(Update(1));

        var parse = await WalSegmentParser.ParseAsync(new MemoryStream(writer.Segment), null, Token);

        Assert.Null(parse.Map);
        Assert.Contains("D120", parse.Reason, StringComparison.Ordinal);
        Assert.Contains("D118 (18)", parse.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_survives_serialization()
    {
        var writer = new SegmentWriter(3);
        writer.Add(Update(1));
        writer.Add(Update(100000));
        writer.Add(CommitDropping(Other));
        var (map, _) = await ParseAsync(writer.Segment);

        var read = WalBlockMap.FromBytes(map.ToBytes(), "map");

        Assert.Equal([1u, 100000u], read.Changes.Blocks[Heap].Order());
        Assert.Equal(map.Changes.Limits.OrderBy(l => l.Key), read.Changes.Limits.OrderBy(l => l.Key));
        Assert.Equal((3u, 0xD110, (uint)SegmentSize), ((uint)read.SegmentNumber, read.PageMagic, read.SegmentSize));
        Assert.Throws<FormatException>(() => WalBlockMap.FromBytes(map.ToBytes()[..^1], "cut"));
    }

    private static List<(RelationFork, uint)> Decode(byte[] record, WalFormat format)
    {
        var decoded = new WalDecodedRecord();
        decoded.Reset(default, (uint)record.Length);
        Assert.Equal(WalDecodeOutcome.Complete, WalRecordDecoder.Decode(record, (uint)record.Length, format, decoded));
        return [.. decoded.Blocks];
    }
}
