using PgArchive.Backups.WalE;
using PgArchive.Compression;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// The checked-in WAL-E samples (<c>Golden/WalE/</c>, each derived from WAL-E's source as its README says): an lzop
/// object decodes to its plaintext; a WAL-E sentinel and extended_version.txt read as a backup whose LSNs come from
/// WAL-E's name (decimal offset) and fields, with its size, tablespace spec, data directory and PostgreSQL version.
/// </summary>
public sealed class WalEGoldenFileTests
{
    private const string Name = "base_00000001000000A20000003E_03626144";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string Golden(string file) => Path.Combine(AppContext.BaseDirectory, "Golden", "WalE", file);

    [Fact]
    public async Task Golden_lzop_object_decodes_to_its_plaintext()
    {
        var stored = await File.ReadAllBytesAsync(Golden("plain.txt.lzo"), Token);

        var decoded = await Codecs.DecompressAsync(new LzopDecompressor(), stored);

        Assert.Equal(await File.ReadAllBytesAsync(Golden("plain.txt"), Token), decoded);
    }

    [Fact]
    public async Task Golden_sentinel_reads_as_a_backup_with_walE_positions_size_spec_and_version()
    {
        var store = new InMemoryObjectStore();
        await store.PutAsync(ArchiveLayout.SentinelKey(Name), File.OpenRead(Golden(Name + "_backup_stop_sentinel.json")), cancellationToken: Token);
        await store.PutAsync(ArchiveLayout.BackupPrefix(Name) + "extended_version.txt", File.OpenRead(Golden("extended_version.txt")), cancellationToken: Token);
        var catalog = new BackupCatalog(store);

        var backup = Assert.Single(await catalog.ListAsync(Token));
        var detail = await catalog.GetDetailAsync(backup, Token);

        Assert.Equal(Name, backup.Name);
        Assert.Equal("00000001000000A20000003E", backup.WalFileName);
        Assert.Equal((0xA2UL << 32) + (0x3EUL << 24) + 3_626_144, detail.StartLsn.Value);   // decimal offset, 16 MiB segments
        Assert.Equal((0xA2UL << 32) + (0x3FUL << 24) + 1_304, detail.FinishLsn.Value);
        Assert.Equal(23_456_789, detail.Sentinel.UncompressedSize);
        Assert.Equal(90624, detail.Metadata.PgVersion);
        Assert.Equal("/var/lib/postgresql/9.6/main", detail.Metadata.DataDir);
        Assert.Equal(new TablespaceLocation("/srv/tablespace/", "pg_tblspc/16385"), detail.Sentinel.Spec!.Tablespaces["16385"]);
        Assert.Equal(backup.LastModified, detail.Metadata.FinishTime);
        Assert.True(detail.IsFull);
        Assert.False(detail.IsPermanent);
    }

    [Theory]
    [InlineData("base_00000001000000A20000003E_03626144", true)]
    [InlineData("base_000000010000000000000002", false)]
    [InlineData("base_000000010000000000000004_D_000000010000000000000002", false)]
    [InlineData("base_00000001000000A20000003E_0362614", false)]
    public void WalE_names_are_told_from_walG_names(string name, bool walE) => Assert.Equal(walE, WalEBackup.IsWalEName(name));

    [Theory]
    [InlineData("PostgreSQL 9.6.24 on x86_64-pc-linux-gnu, compiled by gcc", 90624)]
    [InlineData("PostgreSQL 15.10 (Debian 15.10-0+deb12u1) on x86_64-pc-linux-gnu", 150010)]
    [InlineData("PostgreSQL 10.1 on x86_64", 100001)]
    [InlineData("", 0)]
    public void Version_number_is_read_from_select_version_text(string text, int expected) => Assert.Equal(expected, WalEBackup.VersionNumber(text));
}
