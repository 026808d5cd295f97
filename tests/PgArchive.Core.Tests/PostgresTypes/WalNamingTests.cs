namespace PgArchive.PostgresTypes;

public sealed class WalNamingTests
{
    [Theory]
    [InlineData("0/0", 0UL)]
    [InlineData("0/16B3748", 0x16B3748UL)]
    [InlineData("16/B374D848", 0x16B374D848UL)]
    [InlineData("FFFFFFFF/FFFFFFFF", ulong.MaxValue)]
    public void Lsn_parses_and_prints_PostgreSQL_text(string text, ulong value)
    {
        var lsn = Lsn.Parse(text);
        Assert.Equal(value, lsn.Value);
        Assert.Equal(text, lsn.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("16B374D848")]
    [InlineData("/1")]
    [InlineData("1/")]
    [InlineData("G/1")]
    [InlineData("123456789/1")]
    public void Lsn_refuses_malformed_text(string text) => Assert.False(Lsn.TryParse(text, out _));

    [Fact]
    public void Segment_containing_an_lsn_is_named_as_pg_walfile_name_names_it()
    {
        // pg_walfile_name('16/B374D848') on timeline 1 with 16 MiB segments
        Assert.Equal("0000000100000016000000B3", WalSegment.Containing(Lsn.Parse("16/B374D848"), 1).FileName);
        Assert.Equal("000000020000000000000003", WalSegment.Containing(Lsn.Parse("0/3000028"), 2).FileName);
    }

    [Fact]
    public void Segment_names_depend_on_the_segment_size()
    {
        // 64 MiB segments: 64 per logical id
        var segment = WalSegment.Containing(Lsn.Parse("1/4000000"), 1, 64L << 20);
        Assert.Equal("000000010000000100000001", segment.FileName);
        Assert.Equal(65UL, segment.Number);
    }

    [Fact]
    public void Segment_parse_round_trips_and_next_crosses_a_logical_id()
    {
        var segment = WalSegment.Parse("0000000100000000000000FF");
        Assert.Equal(1u, segment.Timeline);
        Assert.Equal(0xFFUL, segment.Number);
        Assert.Equal("000000010000000100000000", segment.Next().FileName);
        Assert.Equal(Lsn.Parse("1/0"), segment.Next().StartLsn);
    }

    [Theory]
    [InlineData("00000001000000000000000")]
    [InlineData("0000000100000000000001000")]
    [InlineData("000000010000000000000g01")]
    [InlineData("000000000000000000000001")]
    [InlineData("000000010000000000000100")] // segment id beyond 255 with 16 MiB segments
    public void Segment_parse_refuses_bad_names(string name) => Assert.False(WalSegment.TryParse(name, out _));

    [Fact]
    public void Segments_order_by_timeline_then_number()
    {
        Assert.True(WalSegment.Parse("000000010000000000000009") < WalSegment.Parse("00000001000000000000000A"));
        Assert.True(WalSegment.Parse("00000002000000000000000A") > WalSegment.Parse("00000001000000010000000A"));
    }

    [Theory]
    [InlineData("000000010000000000000003", WalFileKind.Segment)]
    [InlineData("000000010000000000000003.partial", WalFileKind.PartialSegment)]
    [InlineData("00000002.history", WalFileKind.TimelineHistory)]
    [InlineData("000000010000000000000003.00000028.backup", WalFileKind.BackupHistory)]
    public void Wal_file_names_are_classified(string name, WalFileKind kind) => Assert.Equal(kind, WalFileName.Classify(name));

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("pg_wal/000000010000000000000003")]
    [InlineData("RECOVERYXLOG")]
    [InlineData("000000010000000000000003.lz4")]
    [InlineData("0000000a0000000000000003")]
    public void Other_names_are_not_wal_files(string name)
    {
        Assert.Null(WalFileName.Classify(name));
        Assert.Throws<PgArchiveException>(() => WalFileName.Validate(name));
    }
}
