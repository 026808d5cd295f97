namespace PgArchive.Postgres;

/// <summary>
/// pg15_pages.bin holds four 8 KiB pages written by a real PostgreSQL 15 (initdb --data-checksums, verified by
/// pg_checksums --check): blocks 0, 1 and 37 of base/1/1249 (pg_attribute) and block 0 of global/1262.
/// </summary>
public sealed class PageChecksumTests
{
    private static readonly (uint Block, ushort Checksum)[] Pages = [(0, 0x8084), (1, 0xD37D), (37, 0x4FD9), (0, 0xDB50)];

    private static byte[] Page(int index) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Samples", "pg15_pages.bin")).AsSpan(index * 8192, 8192).ToArray();

    [Fact]
    public void Compute_matches_the_checksums_PostgreSQL_wrote()
    {
        for (var i = 0; i < Pages.Length; i++)
        {
            var page = Page(i);
            Assert.Equal(Pages[i].Checksum, PageChecksum.Stored(page));
            Assert.Equal(Pages[i].Checksum, PageChecksum.Compute(page, Pages[i].Block));
        }
    }

    [Fact]
    public void Vectorised_and_scalar_forms_agree()
    {
        for (var i = 0; i < Pages.Length; i++)
        {
            var page = Page(i);
            var expected = (ushort)(((PageChecksum.BlockScalar(page) ^ Pages[i].Block) % 65535) + 1);
            Assert.Equal(expected, PageChecksum.Compute(page, Pages[i].Block));
        }
    }

    [Fact]
    public void The_128_and_256_bit_forms_agree_with_the_scalar_form_on_real_and_random_pages()
    {
        var random = new Random(5);
        for (var i = 0; i < Pages.Length + 20; i++)
        {
            var page = i < Pages.Length ? Page(i) : new byte[8192];
            if (i >= Pages.Length)
            {
                random.NextBytes(page);
            }

            var scalar = PageChecksum.BlockScalar(page);
            Assert.Equal(scalar, PageChecksum.BlockVector128(page));
            Assert.Equal(scalar, PageChecksum.BlockVector256(page));
        }
    }

    [Fact]
    public void Compute_mixes_in_the_block_number()
    {
        var page = Page(2);
        Assert.NotEqual(PageChecksum.Compute(page, 37), PageChecksum.Compute(page, 36));
        Assert.NotEqual(PageChecksum.Compute(page, 37), PageChecksum.Compute(page, 37 + 131072));
    }

    [Fact]
    public void Compute_ignores_the_stored_checksum_but_sees_any_other_flipped_byte()
    {
        var page = Page(0);
        var good = PageChecksum.Compute(page, 0);
        page[8] ^= 0xFF;
        page[9] ^= 0x5A;
        Assert.Equal(good, PageChecksum.Compute(page, 0));

        page = Page(0);
        page[5000] ^= 0x01;
        Assert.NotEqual(good, PageChecksum.Compute(page, 0));
    }

    [Fact]
    public void Header_accessors_read_lsn_and_new_page()
    {
        var page = Page(3);
        Assert.Equal(24384216UL, PageChecksum.PageLsn(page));
        Assert.False(PageChecksum.IsNew(page));
        Assert.True(PageChecksum.IsNew(new byte[8192]));
    }

    [Fact]
    public void Compute_refuses_a_page_of_the_wrong_size() =>
        Assert.Throws<ArgumentException>(() => PageChecksum.Compute(new byte[100], 0));
}
