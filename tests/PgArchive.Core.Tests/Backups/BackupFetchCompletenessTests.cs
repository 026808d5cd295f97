using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// backup-fetch succeeds only when every partition files_metadata.json records was read and every file it records
/// was restored (or left to another step of a delta chain by its rules); otherwise it fails naming what is missing
/// and leaves nothing that looks restored.
/// </summary>
public sealed class BackupFetchCompletenessTests : IDisposable
{
    private const string Delta = "base_000000010000000000000006_D_000000010000000000000004";
    private readonly RestoreBench _bench = new();
    private readonly byte[] _relation = Codecs.Data(100_000, seed: 7);
    private readonly byte[] _index = Codecs.Data(20_000, seed: 8);

    public void Dispose() => _bench.Dispose();

    private (string, TarMember[])[] TwoDataPartitions() =>
    [
        ("part_001.tar", [TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File("base/5/16396", _relation)]),
        ("part_002.tar", [TarMember.File("base/5/16397", _index)]),
        .. SyntheticBackup.Partitions(_bench.PgControl).Skip(1),
    ];

    private void AssertNothingRestored() =>
        Assert.Equal([IncompleteRestoreMarker.FileName], RestoreBench.Entries(_bench.Target));

    [Fact]
    public async Task Backup_restores_when_every_recorded_partition_and_file_is_there()
    {
        await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions());

        var result = await _bench.FetchAsync();

        Assert.Equal(5, result.Files);
        Assert.Equal(_index, await File.ReadAllBytesAsync(Path.Combine(_bench.Target, "base", "5", "16397"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Fetch_fails_naming_a_recorded_partition_missing_from_the_store()
    {
        var keys = await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions());
        await _bench.Store.DeleteAsync([keys["part_002.tar"]], TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync());

        Assert.Contains(keys["part_002.tar"], ex.Message, StringComparison.Ordinal);
        Assert.Contains("/base/5/16397", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_bench.Target, "global", "pg_control")), "a restore that failed must not look startable");
    }

    [Fact]
    public async Task Fetch_fails_naming_a_file_recorded_in_a_partition_that_does_not_hold_it()
    {
        var keys = await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions(), files =>
        {
            // what backup-push recorded: part_002 held one more file than the stored object now does
            files.TarFileSets["part_002.tar.lz4"].Add("/base/5/16398");
            files.Files["/base/5/16398"] = new BackupFileDescription();
        });

        var ex = await Assert.ThrowsAsync<ObjectCorruptException>(() => _bench.FetchAsync());

        Assert.Contains(keys["part_002.tar"], ex.Message, StringComparison.Ordinal);
        Assert.Contains("/base/5/16398", ex.Message, StringComparison.Ordinal);
        AssertNothingRestored();
    }

    [Fact]
    public async Task Fetch_fails_when_a_recorded_file_is_in_no_partition()
    {
        await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions(), files => files.Files["/base/5/2619"] = new BackupFileDescription());

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync());

        Assert.Contains("/base/5/2619", ex.Message, StringComparison.Ordinal);
        Assert.Contains(RestoreBench.Backup, ex.Message, StringComparison.Ordinal);
        AssertNothingRestored();
    }

    [Fact]
    public async Task Files_recorded_in_a_partition_that_vanished_during_backup_push_are_not_required()
    {
        // WAL-G lists a file in TarFileSets before reading it; one dropped meanwhile is in no tar and not in Files.
        await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions(), files => files.TarFileSets["part_002.tar.lz4"].Add("/base/5/99999"));

        await _bench.FetchAsync();

        Assert.False(File.Exists(Path.Combine(_bench.Target, "base", "5", "99999")));
    }

    [Fact]
    public async Task Fetch_of_a_backup_without_files_metadata_requires_backup_label()
    {
        await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions().Where(p => p.Item1 != "backup_label.tar"), withFilesMetadata: false);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync());

        Assert.Contains("backup_label", ex.Message, StringComparison.Ordinal);
        AssertNothingRestored();
    }

    [Fact]
    public async Task Fetch_of_a_backup_without_files_metadata_restores_what_it_holds()
    {
        await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions(), withFilesMetadata: false);

        await _bench.FetchAsync();

        Assert.True(File.Exists(Path.Combine(_bench.Target, "backup_label")));
        Assert.True(File.Exists(Path.Combine(_bench.Target, "global", "pg_control")));
    }

    [Fact]
    public async Task Fetch_fails_when_files_metadata_is_missing_although_the_sentinel_says_it_was_written()
    {
        await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions());
        await _bench.Store.DeleteAsync([ArchiveLayout.FilesMetadataKey(RestoreBench.Backup)], TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _bench.FetchAsync());

        Assert.Contains(ArchiveLayout.FilesMetadataKey(RestoreBench.Backup), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_restores_an_older_WalG_backup_whose_sentinel_has_no_version_and_no_files_metadata()
    {
        // WAL-G's GetSentinelAndFilesMetadata: files_metadata.json is a must only from sentinel version 2 on; older WAL-G did not write it.
        await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions());
        await _bench.Store.DeleteAsync([ArchiveLayout.FilesMetadataKey(RestoreBench.Backup)], TestContext.Current.CancellationToken);
        var sentinel = SyntheticBackup.Sentinel.Replace("\"Version\": 2, ", "", StringComparison.Ordinal);
        Assert.NotEqual(SyntheticBackup.Sentinel, sentinel);
        await _bench.Store.PutAsync(ArchiveLayout.SentinelKey(RestoreBench.Backup), new MemoryStream(System.Text.Encoding.UTF8.GetBytes(sentinel)),
            PutMode.Overwrite, TestContext.Current.CancellationToken);

        await _bench.FetchAsync();

        Assert.True(File.Exists(Path.Combine(_bench.Target, "base", "5", "16396")));
        Assert.True(File.Exists(Path.Combine(_bench.Target, "global", "pg_control")));
    }

    /// <summary>A full backup and a delta on it that changed PG_VERSION and left base/5/16396 unchanged (IsSkipped).</summary>
    private async Task<(Dictionary<string, string> Full, Dictionary<string, string> Delta)> StoreChainAsync(Action<FilesMetadata>? deltaFiles = null)
    {
        var full = await _bench.StoreAsync(RestoreBench.Backup, TwoDataPartitions());
        var delta = await _bench.StoreAsync(Delta,
            [
                ("part_001.tar", [TarMember.File("PG_VERSION", "16\n"u8.ToArray()), TarMember.File("base/5/16397", _index)]),
                .. SyntheticBackup.Partitions(_bench.PgControl).Skip(1),
            ],
            files =>
            {
                files.Files["/base/5/16396"] = new BackupFileDescription { IsSkipped = true };
                deltaFiles?.Invoke(files);
            },
            sentinel: s => (s.DeltaFrom, s.DeltaFullName, s.DeltaCount, s.DeltaLsn) = (RestoreBench.Backup, RestoreBench.Backup, 1, 67108904));
        return (full, delta);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Delta_chain_restores_files_left_to_its_base(bool reverse)
    {
        await StoreChainAsync();

        await _bench.FetchAsync(new BackupFetchRequest { TargetDirectory = _bench.Target, BackupName = Delta, ReverseUnpack = reverse });

        Assert.Equal(_relation, await File.ReadAllBytesAsync(Path.Combine(_bench.Target, "base", "5", "16396"), TestContext.Current.CancellationToken));
        Assert.Equal("16\n", await File.ReadAllTextAsync(Path.Combine(_bench.Target, "PG_VERSION"), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Delta_chain_fails_when_a_partition_of_its_base_is_missing(bool reverse)
    {
        var (full, _) = await StoreChainAsync();
        await _bench.Store.DeleteAsync([full["part_001.tar"]], TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() =>
            _bench.FetchAsync(new BackupFetchRequest { TargetDirectory = _bench.Target, BackupName = Delta, ReverseUnpack = reverse }));

        Assert.Contains(full["part_001.tar"], ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delta_chain_fails_when_a_file_left_to_its_base_is_in_no_backup_of_the_chain()
    {
        await StoreChainAsync(files => files.Files["/base/5/2619"] = new BackupFileDescription { IsSkipped = true });

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() =>
            _bench.FetchAsync(new BackupFetchRequest { TargetDirectory = _bench.Target, BackupName = Delta }));

        Assert.Contains("/base/5/2619", ex.Message, StringComparison.Ordinal);
        AssertNothingRestored();
    }
}
