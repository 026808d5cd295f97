using PgArchive.Backups.Delta;

namespace PgArchive.Backups;

public sealed class PostgresIncrementalFileTests
{
    private const int Page = 8192;

    /// <summary>An INCREMENTAL.&lt;file&gt; as PostgreSQL 17 writes it: magic, count, truncation length, block numbers, padding to 8 KiB when any block is sent, pages.</summary>
    private static byte[] PostgresSample(uint truncation, uint[] blocks, byte[][] pages)
    {
        var bytes = new List<byte>();
        bytes.AddRange(BitConverter.GetBytes(0xd3ae1f0du));
        bytes.AddRange(BitConverter.GetBytes((uint)blocks.Length));
        bytes.AddRange(BitConverter.GetBytes(truncation));
        foreach (var block in blocks)
        {
            bytes.AddRange(BitConverter.GetBytes(block));
        }

        while (blocks.Length > 0 && bytes.Count % Page != 0)
        {
            bytes.Add(0);
        }

        foreach (var page in pages)
        {
            bytes.AddRange(page);
        }

        return [.. bytes];
    }

    private static async Task<byte[]> ConvertAsync(byte[] incremental)
    {
        var (increment, _) = await PostgresIncrementalFile.ToIncrementAsync(new MemoryStream(incremental), incremental.Length, "base/5/INCREMENTAL.16384",
            TestContext.Current.CancellationToken);
        var converted = new MemoryStream();
        await increment.CopyToAsync(converted, TestContext.Current.CancellationToken);
        Assert.Equal(increment.Length, converted.Length);
        return converted.ToArray();
    }

    [Fact]
    public async Task Sent_blocks_become_a_WalG_increment_whose_size_is_the_larger_of_truncation_length_and_highest_block()
    {
        var pages = new[] { Enumerable.Repeat((byte)7, Page).ToArray(), Enumerable.Repeat((byte)9, Page).ToArray() };
        var converted = await ConvertAsync(PostgresSample(3, [1, 5], pages));

        var header = await PageIncrement.ReadHeaderAsync(new MemoryStream(converted), "base/5/16384", TestContext.Current.CancellationToken);
        Assert.Equal(6L * Page, header.FileSize); // block 5 lies beyond the truncation length 3
        Assert.Equal([1u, 5u], header.Blocks);
        Assert.Equal(pages[0], converted.AsSpan(16 + 8, Page).ToArray());
        Assert.Equal(pages[1], converted.AsSpan(16 + 8 + Page, Page).ToArray());
    }

    [Fact]
    public async Task An_unchanged_file_becomes_an_increment_without_pages_of_its_truncation_length()
    {
        var converted = await ConvertAsync(PostgresSample(4, [], []));
        var header = await PageIncrement.ReadHeaderAsync(new MemoryStream(converted), "base/5/16384", TestContext.Current.CancellationToken);
        Assert.Equal(4L * Page, header.FileSize);
        Assert.Empty(header.Blocks);
        Assert.Equal(16, converted.Length);
    }

    [Fact]
    public async Task A_member_that_is_not_an_incremental_file_or_does_not_match_its_header_is_refused()
    {
        var plain = new byte[Page];
        var notIncremental = await Assert.ThrowsAsync<PgArchiveException>(() => ConvertAsync(plain));
        Assert.Contains("base/5/INCREMENTAL.16384", notIncremental.Message, StringComparison.Ordinal);
        Assert.Contains("magic", notIncremental.Message, StringComparison.Ordinal);

        var cut = PostgresSample(2, [0], [new byte[Page]])[..(Page + 100)];
        var mismatch = await Assert.ThrowsAsync<PgArchiveException>(() => ConvertAsync(cut));
        Assert.Contains("do not fill", mismatch.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/base/5/INCREMENTAL.16384", "/base/5/16384")]
    [InlineData("/pg_tblspc/16390/PG_17_202406281/5/INCREMENTAL.16391.1", "/pg_tblspc/16390/PG_17_202406281/5/16391.1")]
    [InlineData("/base/5/16384", null)]
    [InlineData("/global/pg_control", null)]
    public void The_plain_path_drops_the_INCREMENTAL_prefix_of_the_file_name(string member, string? plain) =>
        Assert.Equal(plain, PostgresIncrementalFile.PlainPath(member));

    [Fact]
    public void The_stored_backup_label_leaves_out_the_INCREMENTAL_FROM_lines() =>
        Assert.Equal("START WAL LOCATION: 0/9000028 (file 000000010000000000000009)\nLABEL: x\nSTART TIMELINE: 1\n",
            PostgresIncrementalFile.PlainBackupLabel(
                "START WAL LOCATION: 0/9000028 (file 000000010000000000000009)\nLABEL: x\nSTART TIMELINE: 1\nINCREMENTAL FROM LSN: 0/5000028\nINCREMENTAL FROM TLI: 1\n"));
}
