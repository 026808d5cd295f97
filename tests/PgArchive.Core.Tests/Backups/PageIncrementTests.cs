using System.Buffers.Binary;
using PgArchive.Backups.Delta;

namespace PgArchive.Backups;

public sealed class PageIncrementTests : IDisposable
{
    private const int Page = 8192;
    private readonly string _directory = Directory.CreateTempSubdirectory("pgarchive-increment-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A valid heap page with the given LSN, filled with <paramref name="fill"/> after its header.</summary>
    internal static byte[] HeapPage(ulong lsn, byte fill)
    {
        var page = new byte[Page];
        page.AsSpan(24).Fill(fill);
        BinaryPrimitives.WriteUInt32LittleEndian(page, (uint)(lsn >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(4), (uint)lsn);
        BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(12), 28); // pd_lower
        BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(14), 8000); // pd_upper
        BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(16), Page); // pd_special
        BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(18), Page + 4); // pd_pagesize_version
        return page;
    }

    /// <summary>An increment written byte by byte from WAL-G's description, independent of PageIncrement.</summary>
    private static byte[] WalGSample(ulong fileSize, uint[] blocks, byte[][] pages)
    {
        var bytes = new List<byte> { (byte)'w', (byte)'i', (byte)'1', 0x55 };
        bytes.AddRange(BitConverter.GetBytes(fileSize)); // little-endian on every platform .NET runs PostgreSQL on
        bytes.AddRange(BitConverter.GetBytes((uint)blocks.Length));
        foreach (var block in blocks)
        {
            bytes.AddRange(BitConverter.GetBytes(block));
        }

        foreach (var page in pages)
        {
            bytes.AddRange(page);
        }

        return [.. bytes];
    }

    [Fact]
    public void Pages_are_classified_by_their_LSN_and_header_as_WalG_does()
    {
        Assert.Equal(PageIncrement.PageState.Changed, PageIncrement.Classify(HeapPage(0x1_0000_0100, 1), 0x1_0000_0100));
        Assert.Equal(PageIncrement.PageState.Unchanged, PageIncrement.Classify(HeapPage(0x1_0000_00FF, 1), 0x1_0000_0100));
        Assert.Equal(PageIncrement.PageState.Changed, PageIncrement.Classify(new byte[Page], 0x1_0000_0100)); // new page: kept
        var broken = HeapPage(0x2_0000_0000, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(broken.AsSpan(12), 9000); // pd_lower > pd_upper
        Assert.Equal(PageIncrement.PageState.Invalid, PageIncrement.Classify(broken, 0x1_0000_0100));
    }

    [Theory]
    [InlineData("base/16384/16397", Page * 3, true)]
    [InlineData("base/16384/16397.1", Page, true)]
    [InlineData("pg_tblspc/16390/PG_15_202209061/16384/16400", Page, true)]
    [InlineData("base/16384/16397_vm", Page, false)]
    [InlineData("base/16384/16397_fsm", Page, false)]
    [InlineData("global/1262", Page, false)]
    [InlineData("base/16384/16397", Page + 1, false)]
    [InlineData("base/16384/16397", 0, false)]
    [InlineData("base/16384/PG_VERSION", Page, false)]
    public void Only_relation_segments_under_base_and_pg_tblspc_are_paged(string path, long size, bool paged) =>
        Assert.Equal(paged, PageIncrement.IsPagedFile(path, size));

    [Fact]
    public async Task The_increment_of_a_file_holds_exactly_the_pages_changed_since_the_base_in_WalG_bytes()
    {
        const ulong baseLsn = 0x3_0000_0000;
        var pages = new[] { HeapPage(baseLsn - 1, 1), HeapPage(baseLsn + 10, 2), HeapPage(baseLsn - 500, 3), new byte[Page], HeapPage(baseLsn, 5) };
        var path = Path.Combine(_directory, "16397");
        await File.WriteAllBytesAsync(path, pages.SelectMany(p => p).ToArray(), TestContext.Current.CancellationToken);

        using var increment = await IncrementReadStream.OpenAsync(path, Page * 5, baseLsn, TestContext.Current.CancellationToken);
        Assert.NotNull(increment);
        using var copy = new MemoryStream();
        await increment.CopyToAsync(copy, TestContext.Current.CancellationToken);

        var expected = WalGSample(Page * 5, [1, 3, 4], [pages[1], pages[3], pages[4]]);
        Assert.Equal(expected.Length, increment.Length);
        Assert.Equal(expected, copy.ToArray());
    }

    [Theory]
    [InlineData(-1)] // an invalid page in the last range
    [InlineData(0)] // none
    public async Task A_large_file_scanned_in_parallel_ranges_yields_the_same_pages_in_order(int invalidAt)
    {
        const ulong baseLsn = 0x3_0000_0000;
        var pageCount = (int)(IncrementReadStream.ParallelScanThreshold / Page) + 13; // not a multiple of the range count
        var changed = new SortedSet<uint> { 0, 1, (uint)(pageCount / 4), (uint)(pageCount / 4) + 1, (uint)(pageCount / 2) - 1, (uint)(pageCount / 2), (uint)pageCount - 1 };
        var random = new Random(42);
        while (changed.Count < 40)
        {
            changed.Add((uint)random.Next(pageCount));
        }

        var path = Path.Combine(_directory, "16500");
        await using (var file = File.Create(path))
        {
            var old = HeapPage(baseLsn - 1, 1);
            var changedPage = HeapPage(baseLsn + 1, 2);
            for (var i = 0; i < pageCount; i++)
            {
                await file.WriteAsync(changed.Contains((uint)i) ? changedPage : old, TestContext.Current.CancellationToken);
            }

            if (invalidAt < 0)
            {
                var broken = HeapPage(5, 1);
                BinaryPrimitives.WriteUInt16LittleEndian(broken.AsSpan(18), 0x1234);
                file.Position = (long)(pageCount - 2) * Page;
                await file.WriteAsync(broken, TestContext.Current.CancellationToken);
            }
        }

        using var increment = await IncrementReadStream.OpenAsync(path, (long)pageCount * Page, baseLsn, TestContext.Current.CancellationToken);

        if (invalidAt < 0)
        {
            Assert.Null(increment);
            return;
        }

        Assert.NotNull(increment);
        var header = new byte[PageIncrement.FixedHeaderSize + (4 * changed.Count)];
        await increment.ReadExactlyAsync(header, TestContext.Current.CancellationToken);
        var blocks = Enumerable.Range(0, changed.Count).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(PageIncrement.FixedHeaderSize + (4 * i)))).ToArray();
        Assert.Equal(changed.ToArray(), blocks);
    }

    [Fact]
    public async Task A_file_with_an_invalid_page_is_not_incremented()
    {
        var broken = HeapPage(5, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(broken.AsSpan(18), 0x1234);
        var path = Path.Combine(_directory, "16398");
        await File.WriteAllBytesAsync(path, [.. HeapPage(10, 1), .. broken], TestContext.Current.CancellationToken);

        Assert.Null(await IncrementReadStream.OpenAsync(path, Page * 2, 1, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Applying_a_WalG_increment_truncates_to_its_size_and_overwrites_its_pages()
    {
        var path = Path.Combine(_directory, "16399");
        await File.WriteAllBytesAsync(path, Enumerable.Repeat((byte)9, Page * 4).ToArray(), TestContext.Current.CancellationToken);
        var sample = WalGSample(Page * 3, [2, 0], [HeapPage(77, 0xA2), HeapPage(78, 0xA0)]);

        var applied = await new ChainFileWriter(reverse: false).ApplyIncrementAsync(new MemoryStream(sample), "/base/1/16399", path, TestContext.Current.CancellationToken);

        Assert.True(applied);
        var result = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(Page * 3, result.Length);
        Assert.Equal(HeapPage(78, 0xA0), result[..Page]);
        Assert.All(result[Page..(2 * Page)], b => Assert.Equal(9, b));
        Assert.Equal(HeapPage(77, 0xA2), result[(2 * Page)..]);
    }

    [Fact]
    public async Task Reverse_unpack_writes_each_page_once_from_the_newest_backup_that_has_it()
    {
        var path = Path.Combine(_directory, "16400");
        var writer = new ChainFileWriter(reverse: true);
        var ct = TestContext.Current.CancellationToken;
        // newest delta: 2 pages long now, page 1 changed; older delta: pages 0 and 2 (the file was longer then); full: 3 pages of 0x11.
        await writer.ApplyIncrementAsync(new MemoryStream(WalGSample(Page * 2, [1], [HeapPage(300, 0x33)])), "/f", path, ct);
        await writer.ApplyIncrementAsync(new MemoryStream(WalGSample(Page * 3, [0, 1, 2], [HeapPage(200, 0x20), HeapPage(200, 0x21), HeapPage(200, 0x22)])), "/f", path, ct);
        var full = Enumerable.Repeat((byte)0x11, Page * 3).ToArray();
        Assert.True(await writer.WriteWholeAsync(new MemoryStream(full), full.Length, path, ct));
        Assert.False(await writer.WriteWholeAsync(new MemoryStream(full), full.Length, path, ct)); // complete now

        var result = await File.ReadAllBytesAsync(path, ct);
        Assert.Equal(Page * 2, result.Length);
        Assert.Equal(HeapPage(200, 0x20), result[..Page]);
        Assert.Equal(HeapPage(300, 0x33), result[Page..]);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'x', (byte)'i', (byte)'1', 0x55 })]
    [InlineData(new byte[] { (byte)'w', (byte)'i', (byte)'2', 0x55 })]
    public async Task A_bad_signature_is_refused(byte[] signature)
    {
        var sample = WalGSample(Page, [0], [HeapPage(1, 1)]);
        signature.CopyTo(sample, 0);
        await Assert.ThrowsAsync<InvalidDataException>(() =>
            new ChainFileWriter(false).ApplyIncrementAsync(new MemoryStream(sample), "/f", Path.Combine(_directory, "x"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Trailing_data_after_the_last_page_is_refused()
    {
        var sample = WalGSample(Page, [0], [HeapPage(1, 1)]).Append((byte)0).ToArray();
        await Assert.ThrowsAsync<InvalidDataException>(() =>
            new ChainFileWriter(false).ApplyIncrementAsync(new MemoryStream(sample), "/f", Path.Combine(_directory, "y"), TestContext.Current.CancellationToken));
    }
}
