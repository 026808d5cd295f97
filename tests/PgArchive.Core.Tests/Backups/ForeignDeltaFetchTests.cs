using System.Buffers.Binary;
using System.Formats.Tar;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// backup-fetch of delta chains shaped as other writers leave them (built here, no PostgreSQL needed): WAL-G's
/// (members named <c>/base/...</c>, <c>Files</c> without backup_label and tablespace_map, directories listed), older
/// WAL-G's (the file list inside the sentinel, no files_metadata.json, or no file list at all), and PgArchive's
/// own before it named members as WAL-G does (no leading slash, utility files listed).
/// </summary>
public sealed class ForeignDeltaFetchTests : IDisposable
{
    private const string Full = "base_000000010000000000000004";
    private const string Delta = "base_000000010000000000000006_D_000000010000000000000004";
    private const int Page = 8192;
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-foreign-").FullName;
    private readonly InMemoryObjectStore _store = new();
    private readonly ServiceProvider _services;
    private readonly byte[][] _basePages = [Pages(1), Pages(2), Pages(3)];
    private readonly byte[][] _newPages = [Pages(21), Pages(23)];
    private readonly byte[] _other = Pages(7);

    public ForeignDeltaFetchTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IObjectStore>(_store);
        services.AddPgArchive(o => o.CompressionMethod = "none");
        _services = services.BuildServiceProvider();
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>One 8 KiB page filled with <paramref name="seed"/>, its LSN at the start.</summary>
    private static byte[] Pages(int seed)
    {
        var page = new byte[Page];
        Array.Fill(page, (byte)seed);
        BinaryPrimitives.WriteUInt32LittleEndian(page, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(4), (uint)seed << 16);
        return page;
    }

    /// <summary>WAL-G's increment of the relation: it grew to 4 pages; pages 1 and 3 changed.</summary>
    private byte[] Increment()
    {
        var increment = new byte[16 + 8 + (2 * Page)];
        "wi1U"u8.CopyTo(increment);
        BinaryPrimitives.WriteUInt64LittleEndian(increment.AsSpan(4), 4 * Page);
        BinaryPrimitives.WriteUInt32LittleEndian(increment.AsSpan(12), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(increment.AsSpan(16), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(increment.AsSpan(20), 3);
        _newPages[0].CopyTo(increment, 24);
        _newPages[1].CopyTo(increment, 24 + Page);
        return increment;
    }

    private async Task PutTarAsync(string backup, string tarName, params (string Name, byte[]? Content)[] members)
    {
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in members)
            {
                await writer.WriteEntryAsync(content is null
                    ? new UstarTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0b111_000_000 }
                    : new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0b110_000_000 }, Token);
            }
        }

        await PutAsync(ArchiveLayout.TarPartitionsPrefix(backup) + tarName, tar.ToArray());
    }

    private Task PutAsync(string key, byte[] bytes) => _store.PutAsync(key, new MemoryStream(bytes), PutMode.Overwrite, Token);

    private Task PutAsync(string key, string text) => PutAsync(key, Encoding.UTF8.GetBytes(text));

    private static string FileEntry(string path, bool incremented = false, bool skipped = false) =>
        $$$"""
        "{{{path}}}":{"IsIncremented":{{{(incremented ? "true" : "false")}}},"IsSkipped":{{{(skipped ? "true" : "false")}}},"MTime":"2026-11-20T13:00:00.123456789+03:00","UpdatesCount":0}
        """;

    /// <summary>The chain as WAL-G writes it, or with older layouts: how the delta's file list is kept, and how members are named.</summary>
    private async Task StoreChainAsync(string deltaFileList, bool walgNames = true)
    {
        var slash = walgNames ? "/" : "";
        await PutTarAsync(Full, "part_001.tar", (slash + "base", null), (slash + "base/5", null), (slash + "PG_VERSION", "15\n"u8.ToArray()),
            (slash + "base/5/16384", [.. _basePages[0], .. _basePages[1], .. _basePages[2]]), (slash + "base/5/16385", _other));
        await PutTarAsync(Full, "pg_control.tar", (slash + "global/pg_control", Pages(40)));
        await PutTarAsync(Full, "backup_label.tar", ("backup_label", "START WAL LOCATION: 0/4000028 (full)\n"u8.ToArray()), ("tablespace_map", []));
        var utility = walgNames ? "" : "," + FileEntry("/backup_label") + "," + FileEntry("/tablespace_map") + "," + FileEntry("/global/pg_control");
        await PutAsync(ArchiveLayout.FilesMetadataKey(Full), $$$"""
            {"Files":{{{{FileEntry("/base")}}},{{{FileEntry("/base/5")}}},{{{FileEntry("/PG_VERSION")}}},{{{FileEntry("/base/5/16384")}}},{{{FileEntry("/base/5/16385")}}}{{{utility}}}},
             "TarFileSets":{"part_001.tar":["/base","/base/5","/PG_VERSION","/base/5/16384","/base/5/16385"],"backup_label.tar":["tablespace_map","backup_label"]}}
            """);
        await PutAsync(ArchiveLayout.SentinelKey(Full),
            """{"LSN":67108904,"PgVersion":150010,"FinishLSN":67109176,"UncompressedSize":1,"CompressedSize":1,"Version":2,"StartTime":"2026-11-20T10:00:00.123456Z","FinishTime":"2026-11-20T10:00:05Z","DateFmt":"%Y-%m-%dT%H:%M:%S.%fZ","Hostname":"db1","DataDir":"/pgdata","IsPermanent":false}""");

        await PutTarAsync(Delta, "part_001.tar", (slash + "base", null), (slash + "PG_VERSION", "15\n"u8.ToArray()), (slash + "base/5/16384", Increment()));
        await PutTarAsync(Delta, "pg_control.tar", (slash + "global/pg_control", Pages(41)));
        await PutTarAsync(Delta, "backup_label.tar", ("backup_label", "START WAL LOCATION: 0/6000028 (delta)\n"u8.ToArray()), ("tablespace_map", []));
        var files = $$$"""{{{FileEntry("/base")}}},{{{FileEntry("/PG_VERSION")}}},{{{FileEntry("/base/5/16384", incremented: true)}}},{{{FileEntry("/base/5/16385", skipped: true)}}}{{{utility}}}""";
        var tarFileSets = """{"part_001.tar":["/base","/PG_VERSION","/base/5/16384"],"backup_label.tar":["tablespace_map","backup_label"]}""";
        const string chain = "\"DeltaLSN\":67108904,\"DeltaFrom\":\"base_000000010000000000000004\",\"DeltaFullName\":\"base_000000010000000000000004\",\"DeltaCount\":1,";
        switch (deltaFileList)
        {
            case "files_metadata.json":
                await PutAsync(ArchiveLayout.FilesMetadataKey(Delta), $$$"""{"Files":{{{{files}}}},"TarFileSets":{{{tarFileSets}}}}""");
                await PutAsync(ArchiveLayout.SentinelKey(Delta), $$$"""{"LSN":100663336,{{{chain}}}"PgVersion":150010,"FinishLSN":100663608,"Version":2,"StartTime":"2026-11-20T11:00:00Z","FinishTime":"2026-11-20T11:00:05Z"}""");
                break;
            case "sentinel":
                // WAL-G before 2021: Files and TarFileSets inside the sentinel, DeltaFromLSN for the base's LSN, no Version.
                await PutAsync(ArchiveLayout.SentinelKey(Delta),
                    $$$"""{"LSN":100663336,"DeltaFromLSN":67108904,"DeltaFrom":"base_000000010000000000000004","DeltaFullName":"base_000000010000000000000004","DeltaCount":1,"Files":{{{{files}}}},"TarFileSets":{{{tarFileSets}}},"PgVersion":150010,"FinishLSN":100663608}""");
                break;
            default:
                await PutAsync(ArchiveLayout.SentinelKey(Delta), $$$"""{"LSN":100663336,{{{chain}}}"PgVersion":150010,"FinishLSN":100663608}""");
                break;
        }
    }

    private async Task<string> FetchAsync(bool reverse = false)
    {
        var target = Path.Combine(_root, reverse ? "reverse" : "forward");
        await _services.GetRequiredService<BackupFetcher>().FetchAsync(
            new BackupFetchRequest { TargetDirectory = target, BackupName = Delta, ReverseUnpack = reverse }, Token);
        return target;
    }

    private async Task AssertRestoredAsync(string target, bool tablespaceMap = true)
    {
        byte[] relation = [.. _basePages[0], .. _newPages[0], .. _basePages[2], .. _newPages[1]];
        var restored = await File.ReadAllBytesAsync(Path.Combine(target, "base", "5", "16384"), Token);
        Assert.True(relation.SequenceEqual(restored),
            "base/5/16384 must be the base's pages with the increment's applied, grown to 4 pages");
        Assert.Equal(_other, await File.ReadAllBytesAsync(Path.Combine(target, "base", "5", "16385"), Token));
        Assert.Equal(Pages(41), await File.ReadAllBytesAsync(Path.Combine(target, "global", "pg_control"), Token));
        Assert.True(File.Exists(Path.Combine(target, "backup_label")), "backup_label of the restored delta must be restored");
        Assert.Equal("START WAL LOCATION: 0/6000028 (delta)\n", await File.ReadAllTextAsync(Path.Combine(target, "backup_label"), Token));
        Assert.Equal(tablespaceMap, File.Exists(Path.Combine(target, "tablespace_map")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Walg_delta_restores_with_its_backup_label_though_files_does_not_list_it(bool reverse)
    {
        await StoreChainAsync("files_metadata.json");

        await AssertRestoredAsync(await FetchAsync(reverse));
    }

    [Fact]
    public async Task Older_walg_delta_with_its_file_list_in_the_sentinel_applies_its_increments()
    {
        await StoreChainAsync("sentinel");

        await AssertRestoredAsync(await FetchAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Delta_without_any_file_list_has_its_increments_found_by_their_header(bool reverse)
    {
        await StoreChainAsync("none");

        await AssertRestoredAsync(await FetchAsync(reverse));
    }

    [Fact]
    public async Task Pgarchive_archive_written_before_walg_member_names_still_restores()
    {
        await StoreChainAsync("files_metadata.json", walgNames: false);

        await AssertRestoredAsync(await FetchAsync());
    }
}
