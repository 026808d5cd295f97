using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// The sentinel's <c>Spec</c> is plain JSON anyone who can write the bucket can change: backup-fetch takes from it
/// only OIDs, links <c>pg_tblspc/&lt;oid&gt;</c> and absolute, normalised locations, and refuses anything else
/// naming the sentinel and the field, before writing anything. Tablespaces still restore, in place or mapped.
/// </summary>
public sealed class ForgedTablespaceSpecTests : IDisposable
{
    private readonly RestoreBench _bench = new();
    private readonly byte[] _relation = Codecs.Data(30_000, seed: 3);

    public void Dispose() => _bench.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string TablespaceLocation => Path.Combine(_bench.Root, "ts");

    private Task<Dictionary<string, string>> StoreWithSpecAsync(string oid, string location, string link, string memberOid = "16390") =>
        _bench.StoreAsync(RestoreBench.Backup,
            SyntheticBackup.Partitions(_bench.PgControl,
                TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File($"pg_tblspc/{memberOid}/PG_15_202209061/5/16400", _relation)),
            sentinel: s =>
            {
                s.Spec = new TablespaceSpec { BasePrefix = "/var/lib/postgresql/15/main" };
                s.Spec.Tablespaces[oid] = new TablespaceLocation(location, link);
            });

    /// <summary>backup-fetch fails naming the sentinel and <paramref name="field"/>, before creating anything.</summary>
    private async Task AssertRefusedNamingAsync(string field)
    {
        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync());

        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        Assert.Contains(ArchiveLayout.SentinelKey(RestoreBench.Backup), ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_bench.Target), "nothing is created for a forged Spec");
        Assert.False(Directory.Exists(TablespaceLocation));
    }

    [Fact]
    public async Task Tablespace_restores_to_its_location_behind_its_link()
    {
        await StoreWithSpecAsync("16390", TablespaceLocation + "/", "pg_tblspc/16390");

        await _bench.FetchAsync();

        Assert.Equal(_relation, await File.ReadAllBytesAsync(Path.Combine(TablespaceLocation, "PG_15_202209061", "5", "16400"), Token));
        Assert.Equal(TablespaceLocation, new DirectoryInfo(Path.Combine(_bench.Target, "pg_tblspc", "16390")).LinkTarget);
    }

    [Fact]
    public async Task Tablespace_map_restores_a_tablespace_elsewhere()
    {
        await StoreWithSpecAsync("16390", "/nonexistent/ts/", "pg_tblspc/16390");
        var mapped = Path.Combine(_bench.Root, "mapped");

        await _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup, TablespaceMapping = new Dictionary<string, string> { ["16390"] = mapped },
        });

        Assert.Equal(_relation, await File.ReadAllBytesAsync(Path.Combine(mapped, "PG_15_202209061", "5", "16400"), Token));
        Assert.Equal(mapped, new DirectoryInfo(Path.Combine(_bench.Target, "pg_tblspc", "16390")).LinkTarget);
    }

    [Fact]
    public async Task Tablespace_id_that_climbs_out_of_the_target_is_refused_and_nothing_outside_is_touched()
    {
        // The attack: pg_tblspc/<id> resolves to a directory outside the target, which restore used to delete
        // and replace with a symbolic link.
        var victim = Directory.CreateDirectory(Path.Combine(_bench.Root, "victim")).FullName;
        await StoreWithSpecAsync("../../victim", TablespaceLocation + "/", "pg_tblspc/../../victim");

        await AssertRefusedNamingAsync("Spec.tablespaces");

        Assert.Null(new DirectoryInfo(victim).LinkTarget);
        Assert.True(Directory.Exists(victim));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("4294967296")]
    [InlineData("+16390")]
    [InlineData("16390 ")]
    [InlineData("1639O")]
    [InlineData("١٦٣٩٠")]
    [InlineData("")]
    public async Task Tablespace_id_that_is_not_an_oid_is_refused(string oid)
    {
        await StoreWithSpecAsync(oid, TablespaceLocation + "/", "pg_tblspc/" + oid);

        await AssertRefusedNamingAsync("Spec.tablespaces");
    }

    [Theory]
    [InlineData("pg_tblspc/16391")]
    [InlineData("/pg_tblspc/16390")]
    [InlineData("pg_tblspc/16390/..")]
    [InlineData("base/../pg_tblspc/16390")]
    [InlineData("../pg_tblspc/16390")]
    public async Task Tablespace_link_other_than_pg_tblspc_oid_is_refused(string link)
    {
        await StoreWithSpecAsync("16390", TablespaceLocation + "/", link);

        await AssertRefusedNamingAsync("Spec.16390.link");
    }

    [Theory]
    [InlineData("relative/ts")]
    [InlineData("/srv/../ts/")]
    [InlineData("/srv/./ts")]
    [InlineData("/srv//ts")]
    [InlineData("/")]
    [InlineData("")]
    public async Task Tablespace_location_that_is_not_absolute_and_normalised_is_refused(string location)
    {
        await StoreWithSpecAsync("16390", location, "pg_tblspc/16390");

        await AssertRefusedNamingAsync("Spec.16390.loc");
    }

    [Fact]
    public async Task Tablespace_location_that_is_the_target_itself_is_refused()
    {
        await StoreWithSpecAsync("16390", _bench.Target + "/", "pg_tblspc/16390");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync());

        Assert.Contains("Spec.16390.loc", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relative/mapped")]
    [InlineData("/srv/../mapped")]
    public async Task Tablespace_map_to_a_path_that_is_not_absolute_and_normalised_is_refused(string mapped)
    {
        await StoreWithSpecAsync("16390", TablespaceLocation + "/", "pg_tblspc/16390");

        var ex = await Assert.ThrowsAsync<PgArchiveConfigurationException>(() => _bench.FetchAsync(new BackupFetchRequest
        {
            TargetDirectory = _bench.Target, BackupName = RestoreBench.Backup, TablespaceMapping = new Dictionary<string, string> { ["16390"] = mapped },
        }));

        Assert.Contains("--tablespace-map", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(TablespaceLocation));
    }

    [Fact]
    public async Task Tablespace_location_that_is_not_empty_is_refused_and_left_alone()
    {
        await StoreWithSpecAsync("16390", TablespaceLocation + "/", "pg_tblspc/16390");
        Directory.CreateDirectory(TablespaceLocation);
        await File.WriteAllTextAsync(Path.Combine(TablespaceLocation, "keep"), "mine", Token);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync());

        Assert.Contains("not empty", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["keep"], RestoreBench.Entries(TablespaceLocation));
    }
}
