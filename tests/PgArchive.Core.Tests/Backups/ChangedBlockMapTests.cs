using System.Buffers.Binary;
using System.Formats.Tar;
using PgArchive.Backups.Delta;

namespace PgArchive.Backups;

public sealed class ChangedBlockMapTests : IDisposable
{
    private const int Page = 8192;
    private const long Segment = ChangedBlockMap.BlocksPerSegment;
    private static readonly RelationFork Heap = new(RelationFork.DefaultTablespace, 16384, 16385, RelationFork.MainFork);
    private readonly string _directory = Directory.CreateTempSubdirectory("pgarchive-blockmap-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("base/16384/16385", 1663u, 16384u, 16385u, 0, 0u)]
    [InlineData("base/16384/16385.2", 1663u, 16384u, 16385u, 0, 2u)]
    [InlineData("base/16384/16385_fsm", 1663u, 16384u, 16385u, 1, 0u)]
    [InlineData("base/16384/16385_vm.1", 1663u, 16384u, 16385u, 2, 1u)]
    [InlineData("base/16384/16385_init", 1663u, 16384u, 16385u, 3, 0u)]
    [InlineData("global/1262", 1664u, 0u, 1262u, 0, 0u)]
    [InlineData("pg_tblspc/16390/PG_17_202406281/16384/16400.3", 16390u, 16384u, 16400u, 0, 3u)]
    public void Data_directory_paths_name_their_relation_fork_and_segment(string path, uint tablespace, uint database, uint relation, byte fork, uint segment)
    {
        Assert.True(RelationFork.TryParse(path, out var parsed, out var parsedSegment));
        Assert.Equal(new RelationFork(tablespace, database, relation, fork), parsed);
        Assert.Equal(segment, parsedSegment);
    }

    [Theory]
    [InlineData("base/16384/PG_VERSION")]
    [InlineData("base/16384/t3_16385")]
    [InlineData("base/16384/16385_xyz")]
    [InlineData("pg_wal/000000010000000000000001")]
    [InlineData("base/16384")]
    public void Other_files_are_no_relation_fork(string path) => Assert.False(RelationFork.TryParse(path, out _, out _));

    [Fact]
    public void A_block_set_keeps_each_block_once_in_order_sparse_or_dense()
    {
        var set = new BlockSet();
        var random = new Random(7);
        var expected = new SortedSet<uint>();
        for (var i = 0; i < 20_000; i++)
        {
            var block = (uint)random.Next(0, 70_000); // the first chunk turns dense, the second stays sparse
            Assert.Equal(expected.Add(block), set.Add(block));
        }

        set.Add(uint.MaxValue - 1);
        expected.Add(uint.MaxValue - 1);
        Assert.Equal(expected.Count, set.Count);
        Assert.Equal(expected.ToArray(), set.InRange(0, uint.MaxValue).ToArray());
        Assert.Equal(expected.Where(b => b is >= 1000 and < 66_000).ToArray(), set.InRange(1000, 66_000).ToArray());
        Assert.True(set.PayloadBytes <= (8192 + (2 * 8192) + 8)); // a bitmap, a sparse array, one block
    }

    [Fact]
    public void A_fork_the_map_does_not_name_is_unchanged_and_named_blocks_are_read_segment_relative()
    {
        var map = new ChangedBlockMap();
        map.MarkChanged(Heap, 3);
        map.MarkChanged(Heap, 1);
        map.MarkChanged(Heap, 3);
        map.MarkChanged(Heap, (uint)Segment + 7); // block 7 of segment 1
        map.MarkChanged(Heap, (uint)(2 * Segment) + 1);

        Assert.Equal([1u, 3u], map.Select("base/16384/16385", 100 * Page).Blocks);
        Assert.Equal([7u], map.Select("base/16384/16385.1", 100 * Page).Blocks);
        Assert.Equal([1u], map.Select("base/16384/16385.2", 10 * Page).Blocks);
        Assert.Empty(map.Select("base/16384/16399", 100 * Page).Blocks);
        Assert.False(map.Select("base/16384/16399", 100 * Page).IsWhole);
        Assert.Equal(4, map.BlockCount);
    }

    [Fact]
    public void Blocks_past_the_file_size_are_not_read()
    {
        var map = new ChangedBlockMap();
        map.MarkChanged(Heap, 2);
        map.MarkChanged(Heap, 50);
        Assert.Equal([2u], map.Select("base/16384/16385", 50 * Page).Blocks);
    }

    [Fact]
    public void Every_block_from_the_limit_block_on_is_read_and_before_it_only_the_named_ones()
    {
        var map = new ChangedBlockMap();
        map.MarkChanged(Heap, 2);
        map.MarkChanged(Heap, 45);
        map.SetLimitBlock(Heap, 60);
        map.SetLimitBlock(Heap, 40); // truncated to 40 blocks, then 41 and more written again
        map.SetLimitBlock(Heap, 70); // a larger limit does not raise it
        Assert.Equal(40u, map.LimitBlockOf(Heap));
        Assert.Equal([2u, 40u, 41u, 42u, 43u, 44u, 45u, 46u], map.Select("base/16384/16385", 47 * Page).Blocks);

        // In a later segment the limit is relative to the segment's first block.
        var large = Heap with { RelFileNumber = 16400 };
        map.SetLimitBlock(large, (uint)Segment + 5);
        map.MarkChanged(large, (uint)Segment + 1);
        Assert.Empty(map.Select("base/16384/16400", 8 * Page).Blocks); // segment 0 lies before the limit and nothing in it changed
        Assert.Equal([1u, 5u, 6u, 7u], map.Select("base/16384/16400.1", 8 * Page).Blocks);
        Assert.True(map.Select("base/16384/16400.2", 8 * Page).IsWhole); // the limit is before this segment: all of it is new
    }

    [Fact]
    public void A_fork_created_or_dropped_and_recreated_since_the_base_is_stored_whole()
    {
        var map = new ChangedBlockMap();
        map.SetLimitBlock(Heap, 0);
        map.MarkChanged(Heap, 1);
        Assert.True(map.Select("base/16384/16385", 100 * Page).IsWhole);
        Assert.True(map.Select("base/16384/16385.3", 100 * Page).IsWhole);
    }

    [Fact]
    public void Every_file_of_a_database_created_or_dropped_since_the_base_is_stored_whole()
    {
        var map = new ChangedBlockMap();
        map.MarkDatabaseReplaced(RelationFork.DefaultTablespace, 16384);
        Assert.True(map.Select("base/16384/16385", 100 * Page).IsWhole);
        Assert.True(map.Select("base/16384/2619_vm", 2 * Page).IsWhole);
        Assert.False(map.Select("base/5/16385", 100 * Page).IsWhole);
    }

    [Theory]
    [InlineData("base/16384/16385_fsm", 3 * Page)] // the free space map is not WAL-logged (PostgreSQL 17 sends it whole)
    [InlineData("base/16384/16385", (3 * Page) + 100)] // not whole blocks
    [InlineData("base/16384/16385", (Segment + 1) * Page)] // larger than a segment
    [InlineData("base/16384/PG_VERSION", 3)] // no relation
    public void Files_a_map_cannot_speak_for_are_stored_whole(string path, long size) =>
        Assert.True(new ChangedBlockMap().Select(path, size).IsWhole);

    [Fact]
    public void A_file_with_more_than_nine_tenths_of_its_blocks_changed_is_stored_whole()
    {
        var map = new ChangedBlockMap();
        for (uint block = 0; block < 9; block++)
        {
            map.MarkChanged(Heap, block);
        }

        Assert.False(map.Select("base/16384/16385", 10 * Page).IsWhole);
        map.MarkChanged(Heap, 9);
        Assert.True(map.Select("base/16384/16385", 10 * Page).IsWhole);
    }

    [Fact]
    public void The_visibility_map_and_shared_relations_are_selected_like_any_fork()
    {
        var map = new ChangedBlockMap();
        map.MarkChanged(Heap with { Fork = RelationFork.VisibilityMapFork }, 0);
        map.MarkChanged(new RelationFork(RelationFork.GlobalTablespace, 0, 1262, RelationFork.MainFork), 1);
        Assert.Equal([0u], map.Select("base/16384/16385_vm", 2 * Page).Blocks);
        Assert.Equal([1u], map.Select("global/1262", 3 * Page).Blocks);
    }

    [Fact]
    public async Task An_increment_from_a_block_selection_reads_only_the_named_blocks_that_exist()
    {
        // Every page is newer than the base: a scan would keep all twenty. The map names three, one past the end.
        const ulong baseLsn = 0x3_0000_0000;
        var path = Path.Combine(_directory, "16385");
        var pages = Enumerable.Range(0, 20).Select(i => PageIncrementTests.HeapPage(baseLsn + 1 + (ulong)i, (byte)(i + 1))).ToArray();
        await File.WriteAllBytesAsync(path, pages.SelectMany(p => p).ToArray(), TestContext.Current.CancellationToken);
        var map = new ChangedBlockMap();
        foreach (var block in new uint[] { 19, 2, 5, 25 })
        {
            map.MarkChanged(Heap, block);
        }

        var selection = map.Select("base/16384/16385", 20 * Page);
        Assert.Equal([2u, 5u, 19u], selection.Blocks);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
        using var tar = new MemoryStream();
        WrittenIncrement? written;
        await using (var writer = new TarWriter(tar, TarEntryFormat.Gnu, leaveOpen: true))
        {
            var entry = new DataDirectoryEntry("base/16384/16385", path, false, 20 * Page);
            written = await IncrementTarEntry.WriteAsync(writer, entry, baseLsn, [.. selection.Blocks, 25u], null, TestContext.Current.CancellationToken);
        }

        Assert.NotNull(written);
        Assert.Equal(3, written.Pages);
        Assert.Equal(3L * Page, written.BytesRead); // not one byte of a page the map did not name
        tar.Position = 0;
        var member = await new TarReader(tar).GetNextEntryAsync(copyData: true, TestContext.Current.CancellationToken);
        var header = await PageIncrement.ReadHeaderAsync(member!.DataStream!, "16385", TestContext.Current.CancellationToken);
        Assert.Equal(20L * Page, header.FileSize);
        Assert.Equal([2u, 5u, 19u], header.Blocks);
        foreach (var block in header.Blocks)
        {
            var page = new byte[Page];
            await member.DataStream!.ReadExactlyAsync(page, TestContext.Current.CancellationToken);
            Assert.Equal(pages[block], page);
        }
    }

    [Fact]
    public async Task An_increment_from_a_block_selection_records_the_size_the_file_has_now()
    {
        var path = Path.Combine(_directory, "16386");
        await File.WriteAllBytesAsync(path, new byte[6 * Page], TestContext.Current.CancellationToken);
        using var increment = IncrementReadStream.OpenBlocks(path, [1, 5, 8]);
        Assert.NotNull(increment);
        using var copy = new MemoryStream();
        await increment.CopyToAsync(copy, TestContext.Current.CancellationToken);
        Assert.Equal(2, increment.PageCount);
        Assert.Equal(2L * Page, increment.BytesRead);
        Assert.Equal(6UL * Page, BinaryPrimitives.ReadUInt64LittleEndian(copy.ToArray().AsSpan(4)));
    }

    [Theory]
    [InlineData(5000, false)]
    [InlineData(3 << 20, false)]
    [InlineData(7, true)]
    public async Task An_increment_reads_runs_of_consecutive_blocks_and_yields_each_page_exactly_whatever_the_read_size(int readSize, bool truncated)
    {
        // Runs longer than one read (140 > 128 pages), short runs, single blocks; pages past a truncation come out zeroed.
        var path = Path.Combine(_directory, "16387");
        var content = new byte[300 * Page];
        for (var block = 0; block < 300; block++)
        {
            content.AsSpan(block * Page, Page).Fill((byte)(block % 251));
            BinaryPrimitives.WriteInt32LittleEndian(content.AsSpan((block * Page) + 100), block);
        }

        await File.WriteAllBytesAsync(path, content, TestContext.Current.CancellationToken);
        uint[] blocks = [.. Enumerable.Range(0, 140).Select(b => (uint)b), 150, 151, .. Enumerable.Range(200, 6).Select(b => (uint)b), 299];
        using var increment = IncrementReadStream.OpenBlocks(path, blocks);
        Assert.NotNull(increment);
        if (truncated)
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            file.SetLength(203L * Page);
        }

        using var copy = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = await increment.ReadAsync(buffer, TestContext.Current.CancellationToken)) > 0)
        {
            copy.Write(buffer, 0, read);
        }

        Assert.Equal(increment.Length, copy.Length);
        copy.Position = 0;
        var header = await PageIncrement.ReadHeaderAsync(copy, "16387", TestContext.Current.CancellationToken);
        Assert.Equal(blocks, header.Blocks);
        var page = new byte[Page];
        foreach (var block in blocks)
        {
            await copy.ReadExactlyAsync(page, TestContext.Current.CancellationToken);
            var expected = truncated && block >= 203 ? new byte[Page] : content.AsSpan((int)block * Page, Page).ToArray();
            Assert.True(expected.AsSpan().SequenceEqual(page), $"page {block}");
        }

        Assert.Equal((truncated ? 145L : blocks.Length) * Page, increment.BytesRead); // each page read once; none past the end
    }
}
