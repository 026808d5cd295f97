using System.Text;
using PgArchive.Compression;
using PgArchive.Retention;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>Runs alone, after the other tests: these tests count what the process allocates.</summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class AllocationMeasured;

/// <summary>
/// A tar header or a JSON object made huge on purpose costs a bounded amount of memory: backup-fetch and backup-verify
/// refuse an extended tar header over 1 MiB before the tar reader buffers it, and the catalog refuses a JSON value over
/// 1 MiB or a sentinel over 64 MiB, each naming the object and the limit.
/// </summary>
[Collection(nameof(AllocationMeasured))]
public sealed class OversizedObjectTests : IDisposable
{
    private const long Budget = 64L << 20; // allocations a refused object may cost, everything else of the call included
    private readonly SyntheticArchive _archive = new();
    private readonly string _name;
    private readonly string _target = Path.Combine(Path.GetTempPath(), "pgarchive-oversized-" + Guid.NewGuid().ToString("N"));

    public OversizedObjectTests()
    {
        _name = _archive.AddBackup(1, 4);
        StorePartition("pg_control.tar.lz4", CraftedTar.Of(CraftedTar.File("global/pg_control", new byte[8192])));
        _archive.Put(ArchiveLayout.FilesMetadataKey(_name), """
            {"Files": {"/PG_VERSION": {}, "/global/pg_control": {}},
             "TarFileSets": {"part_001.tar.lz4": ["/PG_VERSION"], "pg_control.tar.lz4": ["/global/pg_control"]}}
            """);
    }

    public void Dispose()
    {
        _archive.Dispose();
        if (Directory.Exists(_target))
        {
            Directory.Delete(_target, recursive: true);
        }
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string PartitionKey => ArchiveLayout.TarPartitionsPrefix(_name) + "part_001.tar.lz4";

    /// <summary>Stores <paramref name="tar"/> as a partition, LZ4-compressed as backup-push writes it (700 MB of 'a' store in a few MB).</summary>
    private void StorePartition(string name, Stream tar)
    {
        var codec = _archive.Get<ObjectCodec>();
        using var stored = new MemoryStream();
        using (var encoder = codec.Encode(stored, (ICompressor)codec.CompressorFor(name)))
        {
            tar.CopyTo(encoder, 1 << 20);
        }

        _archive.Store.PutAsync(ArchiveLayout.TarPartitionsPrefix(_name) + name, new MemoryStream(stored.ToArray()), PutMode.Overwrite, Token).GetAwaiter().GetResult();
    }

    /// <summary>Runs <paramref name="action"/> and returns what the whole process allocated meanwhile.</summary>
    private static async Task<long> AllocatedBy(Func<Task> action)
    {
        GC.Collect();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await action();
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }

    [Theory]
    [InlineData('x', 700_000_000L)]
    [InlineData('g', 100_000_000L)]
    [InlineData('L', 100_000_000L)]
    [InlineData('K', 100_000_000L)]
    public async Task Backup_verify_refuses_an_extended_tar_header_over_1_MiB_before_reading_it(char type, long size)
    {
        StorePartition("part_001.tar.lz4", CraftedTar.WithExtendedHeader(type, size));
        BackupVerifyResult? result = null;

        var allocated = await AllocatedBy(async () => result = await _archive.Get<BackupVerifier>().VerifyAsync(_name, Token));

        Assert.True(allocated < Budget, $"{allocated:N0} bytes allocated");
        var problem = Assert.Single(result!.Problems);
        Assert.Equal("part_001.tar.lz4", problem.TarPartition);
        Assert.Contains($"'{PartitionKey}' is damaged", problem.Description, StringComparison.Ordinal);
        Assert.Contains($"more than the 1 MiB", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backup_fetch_refuses_a_700_MB_PAX_header_before_reading_it()
    {
        StorePartition("part_001.tar.lz4", CraftedTar.WithExtendedHeader('x', 700_000_000L));
        PgArchiveException? refused = null;

        var allocated = await AllocatedBy(async () => refused = await Record.ExceptionAsync(() =>
            _archive.Get<BackupFetcher>().FetchAsync(new BackupFetchRequest { TargetDirectory = _target, BackupName = _name }, Token)) as PgArchiveException);

        Assert.True(allocated < Budget, $"{allocated:N0} bytes allocated");
        Assert.IsType<ObjectCorruptException>(refused);
        Assert.Contains($"'{PartitionKey}' is damaged: the tar header at byte 0 announces a 667 MiB PAX extended header ('x'), more than the 1 MiB", refused!.Message, StringComparison.Ordinal);
        Assert.Equal([IncompleteRestoreMarker.FileName], Directory.EnumerateFileSystemEntries(_target).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_sentinel_holding_a_100_MB_value_is_refused_before_it_is_read()
    {
        var huge = new MemoryStream();
        huge.Write("""{"LSN": 67108904, "FinishLSN": 67109176, "Hostname": """u8);
        huge.Write(Encoding.ASCII.GetBytes("\"" + new string('h', 100_000_000) + "\"}"));
        await _archive.Store.PutAsync(ArchiveLayout.SentinelKey(_name), new MemoryStream(huge.ToArray()), PutMode.Overwrite, Token);
        huge = null;
        Exception? refused = null;

        var allocated = await AllocatedBy(async () => refused = await Record.ExceptionAsync(() => _archive.Get<BackupCatalog>().ReadSentinelAsync(_name, Token)));

        Assert.True(allocated < Budget, $"{allocated:N0} bytes allocated");
        Assert.IsType<ObjectCorruptException>(refused);
        Assert.Contains($"'{ArchiveLayout.SentinelKey(_name)}' is damaged: it holds a JSON value longer than 1 MiB", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sentinel_over_64_MiB_is_refused_naming_the_limit()
    {
        var huge = new StringBuilder("""{"LSN": 67108904, "UserData": {""");
        for (var i = 0; huge.Length < 100_000_000; i++)
        {
            huge.Append(System.Globalization.CultureInfo.InvariantCulture, $"\"key{i}\": {i}, ");
        }

        huge.Append("\"end\": 0}}");
        _archive.Put(ArchiveLayout.SentinelKey(_name), huge.ToString());

        var refused = await Assert.ThrowsAsync<ObjectCorruptException>(() => _archive.Get<BackupCatalog>().ReadSentinelAsync(_name, Token));

        Assert.Contains($"'{ArchiveLayout.SentinelKey(_name)}' is damaged: it is larger than the 64 MiB that a backup sentinel may hold", refused.Message, StringComparison.Ordinal);
    }
}
