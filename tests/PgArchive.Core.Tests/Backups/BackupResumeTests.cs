using System.IO.Hashing;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// backup-push --resume's rules, on real files and stores: which partitions of an interrupted backup may be taken
/// over (files unchanged in size and modification time, written well before their read; never pg_control or the
/// label files), from which interrupted backup (same cluster and codec, no sentinel), and that a copy whose bytes
/// are not the ones recorded is refused and leaves nothing behind.
/// </summary>
public sealed class BackupResumeTests : IDisposable
{
    private const string Previous = "base_000000010000000000000004";
    private const string Next = "base_000000010000000000000006";
    private const ulong SystemId = 7300000000000000001;
    private static readonly DateTime Written = new(2026, 11, 25, 8, 0, 0, DateTimeKind.Utc);
    private static readonly DateTimeOffset ReadAt = new(2026, 11, 25, 8, 30, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-resume-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static BackupResume.Attempt Attempt(ulong systemId = SystemId, string codec = "compression:lz4;encryption:none") =>
        new(Next, systemId, 1, 150010, codec, PageChecksumsVerified: true);

    private string Write(string relative, int size, DateTime? modified = null)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, new byte[size]);
        File.SetLastWriteTimeUtc(path, modified ?? Written);
        return path;
    }

    private static BackupProgressPartition Partition(string objectName, DateTimeOffset readStartedAt, params (string Path, long Size, DateTime MTime)[] files) => new()
    {
        ObjectName = objectName,
        Stored = new StoredChecksum(100, new string('0', 32)),
        TarBytes = 2048,
        ReadStartedAt = readStartedAt,
        Files = [.. files.Select(f => new BackupProgressFile { Path = f.Path, Size = f.Size, Description = new BackupFileDescription { MTime = f.MTime, XxHash128 = "ab" } })],
    };

    private static BackupProgress Progress(string name, params BackupProgressPartition[] partitions) => new()
    {
        BackupName = name,
        SystemIdentifier = SystemId,
        Timeline = 1,
        PgVersion = 150010,
        StartTime = ReadAt,
        CodecIdentity = "compression:lz4;encryption:none",
        PageChecksumsVerified = true,
        Hostname = Environment.MachineName,
        ProcessId = int.MaxValue, // a backup-push of this host that has ended: interrupted
        Partitions = [.. partitions],
    };

    private List<DataDirectoryEntry> Scan() => [.. DataDirectoryScanner.Scan(_root)];

    private static DateTime? ModifiedTime(string path) => File.Exists(path) ? File.GetLastWriteTimeUtc(path) : null;

    private IReadOnlyList<BackupResume.Decision> Decide(BackupProgress progress) => BackupResume.Decide(progress, Scan(), ModifiedTime);

    [Fact]
    public void Partition_whose_files_are_unchanged_and_were_written_well_before_the_read_is_reused()
    {
        Write("base/5/16384", 8192);
        Write("base/5/16385", 16384);
        var partition = Partition("part_001.tar.lz4", ReadAt, ("/base/5/16384", 8192, Written), ("/base/5/16385", 16384, Written));
        partition.Directories = ["base", "base/5"];
        var progress = Progress(Previous, partition);

        var decision = Assert.Single(Decide(progress));

        Assert.True(decision.Reusable, decision.Reason);
    }

    [Fact]
    public void A_directory_gone_since_the_read_makes_its_partition_read_again()
    {
        Write("base/5/16384", 8192);
        var partition = Partition("part_001.tar.lz4", ReadAt, ("/base/5/16384", 8192, Written));
        partition.Directories = ["base/16400"];

        var decision = Assert.Single(Decide(Progress(Previous, partition)));

        Assert.False(decision.Reusable);
        Assert.Contains("directory base/16400 is no longer in the data directory", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_whose_size_changed_makes_its_partition_read_again()
    {
        Write("base/5/16384", 8192);
        Write("base/5/16385", 24576); // grew; same modification time as recorded
        var progress = Progress(Previous,
            Partition("part_001.tar.lz4", ReadAt, ("/base/5/16384", 8192, Written)),
            Partition("part_002.tar.lz4", ReadAt, ("/base/5/16385", 16384, Written)));

        var decisions = Decide(progress);

        Assert.True(decisions[0].Reusable, decisions[0].Reason);
        Assert.False(decisions[1].Reusable);
        Assert.Contains("changed size", decisions[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_modified_since_it_was_read_makes_its_partition_read_again()
    {
        Write("base/5/16384", 8192);
        Write("base/5/16385", 8192, Written.AddMinutes(45)); // written after the read, same size
        var progress = Progress(Previous, Partition("part_001.tar.lz4", ReadAt, ("/base/5/16384", 8192, Written), ("/base/5/16385", 8192, Written)));

        var decision = Assert.Single(Decide(progress));

        Assert.False(decision.Reusable);
        Assert.Contains("/base/5/16385 was modified since it was read", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_vanished_since_it_was_read_makes_its_partition_read_again()
    {
        Write("base/5/16384", 8192);
        var progress = Progress(Previous, Partition("part_001.tar.lz4", ReadAt, ("/base/5/16384", 8192, Written), ("/base/5/16399", 8192, Written)));

        var decision = Assert.Single(Decide(progress));

        Assert.False(decision.Reusable);
        Assert.Contains("/base/5/16399 is no longer in the data directory", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1000, false)]
    [InlineData(1999, false)]
    [InlineData(2000, true)]
    [InlineData(60000, true)]
    public void A_file_written_less_than_two_seconds_before_its_read_began_is_not_trusted(int millisecondsBeforeRead, bool reusable)
    {
        var readStartedAt = new DateTimeOffset(Written).AddMilliseconds(millisecondsBeforeRead);
        Write("base/5/16384", 8192);
        var progress = Progress(Previous, Partition("part_001.tar.lz4", readStartedAt, ("/base/5/16384", 8192, Written)));

        var decision = Assert.Single(Decide(progress));

        Assert.Equal(reusable, decision.Reusable);
        if (!reusable)
        {
            Assert.Contains("less than 2 s before its read began", decision.Reason, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("global/pg_control")]
    [InlineData("backup_label")]
    [InlineData("tablespace_map")]
    public void Partitions_holding_pg_control_or_the_label_files_are_never_reused(string file)
    {
        Write(file, 8192);
        Write("base/5/16384", 8192);
        var partition = Partition("part_001.tar.lz4", ReadAt, ("/base/5/16384", 8192, Written), ("/" + file, 8192, Written));
        var progress = Progress(Previous, partition);
        // backup_label and tablespace_map are never scanned; pretend they were, so only the rule itself can refuse.
        var entries = Scan();
        entries.Add(new DataDirectoryEntry(file, Path.Combine(_root, file), false, 8192));

        var decision = Assert.Single(BackupResume.Decide(progress, entries, ModifiedTime));

        Assert.False(decision.Reusable);
        Assert.Contains("always read anew", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_pg_control_partition_and_partitions_with_corrupt_pages_are_not_reused()
    {
        Write("global/pg_control", 8192);
        Write("base/5/16384", 8192);
        var corrupt = Partition("part_002.tar.lz4", ReadAt, ("/base/5/16384", 8192, Written));
        corrupt.Files[0].Description.CorruptBlocks = new CorruptBlocksInfo { CorruptBlocksCount = 1, SomeCorruptBlocks = [0] };
        var progress = Progress(Previous, Partition("pg_control.tar.lz4", ReadAt, ("/global/pg_control", 8192, Written)), corrupt);

        var decisions = Decide(progress);

        Assert.All(decisions, d => Assert.False(d.Reusable));
    }

    [Fact]
    public void Incompatibility_refuses_another_cluster_timeline_codec_or_unverified_pages()
    {
        var progress = Progress(Previous);

        Assert.Null(BackupResume.Incompatibility(progress, Attempt()));
        Assert.Contains("another cluster", BackupResume.Incompatibility(progress, Attempt(systemId: SystemId + 1)), StringComparison.Ordinal);
        Assert.Contains("compressed or encrypted otherwise", BackupResume.Incompatibility(progress, Attempt(codec: "compression:zst;encryption:none")), StringComparison.Ordinal);
        Assert.Contains("timeline", BackupResume.Incompatibility(progress, Attempt() with { Timeline = 2 }), StringComparison.Ordinal);
        progress.PageChecksumsVerified = false;
        Assert.Contains("did not verify page checksums", BackupResume.Incompatibility(progress, Attempt()), StringComparison.Ordinal);
        Assert.Null(BackupResume.Incompatibility(progress, Attempt() with { PageChecksumsVerified = false }));
    }

    [Fact]
    public async Task FindAsync_takes_the_newest_incomplete_backup_of_the_same_cluster()
    {
        var store = new InMemoryObjectStore();
        var older = Progress("base_000000010000000000000002");
        older.StartTime = ReadAt.AddHours(-2);
        var complete = Progress("base_000000010000000000000003");
        complete.StartTime = ReadAt.AddHours(-1);
        var otherCluster = Progress("base_000000010000000000000005");
        otherCluster.SystemIdentifier = SystemId + 1;
        otherCluster.StartTime = ReadAt.AddHours(1);
        foreach (var progress in new[] { older, complete, otherCluster })
        {
            await PutProgressAsync(store, progress);
        }

        await store.PutAsync(ArchiveLayout.SentinelKey(complete.BackupName), new MemoryStream("{}"u8.ToArray()), cancellationToken: Token);

        var (found, refused) = await BackupResume.FindAsync(store, Attempt(), DateTimeOffset.UtcNow, Token);

        Assert.Equal(older.BackupName, found?.BackupName);
        Assert.Null(refused);
    }

    [Fact]
    public async Task FindAsync_uses_nothing_from_another_cluster_and_says_why()
    {
        var store = new InMemoryObjectStore();
        await PutProgressAsync(store, Progress(Previous));

        var (found, refused) = await BackupResume.FindAsync(store, Attempt(systemId: SystemId + 1), DateTimeOffset.UtcNow, Token);

        Assert.Null(found);
        Assert.Contains("is of another cluster", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindAsync_ignores_the_new_backup_itself_and_complete_backups()
    {
        var store = new InMemoryObjectStore();
        await PutProgressAsync(store, Progress(Next));
        await PutProgressAsync(store, Progress(Previous));
        await store.PutAsync(ArchiveLayout.SentinelKey(Previous), new MemoryStream("{}"u8.ToArray()), cancellationToken: Token);

        var (found, refused) = await BackupResume.FindAsync(store, Attempt(), DateTimeOffset.UtcNow, Token);

        Assert.Null(found);
        Assert.Contains("no interrupted backup", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindAsync_never_takes_a_backup_whose_backup_push_still_runs_on_this_host()
    {
        var store = new InMemoryObjectStore();
        var running = Progress(Previous);
        running.ProcessId = Environment.ProcessId;
        running.StartTime = DateTimeOffset.UtcNow;
        await PutProgressAsync(store, running);

        var (found, refused) = await BackupResume.FindAsync(store, Attempt(), DateTimeOffset.UtcNow.AddHours(1), Token);

        Assert.Null(found);
        Assert.Contains($"{Previous} is still being written by a running backup-push (process {Environment.ProcessId} on {Environment.MachineName}", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FindAsync_takes_a_backup_of_another_host_only_once_it_has_been_idle_ten_minutes()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new InMemoryObjectStore(time);
        var elsewhere = Progress(Previous);
        elsewhere.Hostname = "another-host";
        await PutProgressAsync(store, elsewhere);
        time.Advance(TimeSpan.FromMinutes(9));

        var (recent, refused) = await BackupResume.FindAsync(store, Attempt(), time.GetUtcNow(), Token);
        time.Advance(TimeSpan.FromMinutes(2));
        var (idle, _) = await BackupResume.FindAsync(store, Attempt(), time.GetUtcNow(), Token);

        Assert.Null(recent);
        Assert.Contains($"{Previous} may still be being written: it was last written 9 min ago by process", refused, StringComparison.Ordinal);
        Assert.Equal(Previous, idle?.BackupName);
    }

    public static TheoryData<string> Stores => ["copier", "streamed"];

    private static IObjectStore StoreFor(string kind, InMemoryObjectStore inner) => kind == "copier" ? inner : new ReadWriteOnlyStore(inner);

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task CopyVerifiedAsync_copies_the_recorded_bytes(string kind)
    {
        var inner = new InMemoryObjectStore();
        var (source, checksum) = await PutPartitionAsync(inner, 70_000, seed: 1);
        var destination = ArchiveLayout.TarPartitionsPrefix(Next) + "part_001.tar.lz4";

        var refused = await BackupResume.CopyVerifiedAsync(StoreFor(kind, inner), source, destination, checksum, Token);

        Assert.Null(refused);
        Assert.Equal(inner.GetBytes(source), inner.GetBytes(destination));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task CopyVerifiedAsync_refuses_a_partition_whose_bytes_changed_and_leaves_no_copy(string kind)
    {
        var inner = new InMemoryObjectStore();
        var (source, checksum) = await PutPartitionAsync(inner, 70_000, seed: 1);
        var bytes = inner.GetBytes(source);
        bytes[40_000] ^= 0x20; // same size, other bytes
        await inner.PutAsync(source, new MemoryStream(bytes), cancellationToken: Token);
        var destination = ArchiveLayout.TarPartitionsPrefix(Next) + "part_001.tar.lz4";

        var refused = await BackupResume.CopyVerifiedAsync(StoreFor(kind, inner), source, destination, checksum, Token);

        Assert.NotNull(refused);
        Assert.Contains("do not match the checksum recorded", refused, StringComparison.Ordinal);
        Assert.DoesNotContain(destination, inner.Keys);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task CopyVerifiedAsync_refuses_a_partition_of_another_size_without_copying(string kind)
    {
        var inner = new InMemoryObjectStore();
        var (source, checksum) = await PutPartitionAsync(inner, 70_000, seed: 1);
        var destination = ArchiveLayout.TarPartitionsPrefix(Next) + "part_001.tar.lz4";
        var before = inner.OperationCount;

        var refused = await BackupResume.CopyVerifiedAsync(StoreFor(kind, inner), source, destination, checksum with { Size = checksum.Size + 1 }, Token);

        Assert.Contains("70000 bytes, 70001 were recorded", refused, StringComparison.Ordinal);
        Assert.Equal(before + 1, inner.OperationCount); // the size was asked, nothing else
        Assert.DoesNotContain(destination, inner.Keys);
    }

    [Fact]
    public async Task CopyVerifiedAsync_refuses_a_partition_that_is_gone()
    {
        var inner = new InMemoryObjectStore();
        var refused = await BackupResume.CopyVerifiedAsync(inner, ArchiveLayout.TarPartitionsPrefix(Previous) + "part_009.tar.lz4",
            ArchiveLayout.TarPartitionsPrefix(Next) + "part_001.tar.lz4", new StoredChecksum(10, "00"), Token);

        Assert.Contains("no longer in the store", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Progress_record_round_trips_modification_times_exactly()
    {
        var path = Write("base/5/16384", 8192, new DateTime(2026, 11, 25, 8, 0, 0, DateTimeKind.Utc).AddTicks(1234567));
        var progress = Progress(Previous, Partition("part_001.tar.lz4", ReadAt, ("/base/5/16384", 8192, File.GetLastWriteTimeUtc(path))));
        var store = new InMemoryObjectStore();
        await PutProgressAsync(store, progress);

        var (found, _) = await BackupResume.FindAsync(store, Attempt(), DateTimeOffset.UtcNow, Token);

        var decision = Assert.Single(BackupResume.Decide(found!, Scan(), ModifiedTime));
        Assert.True(decision.Reusable, decision.Reason);
    }

    [Fact]
    public async Task An_incomplete_backup_with_a_progress_record_is_not_listed_until_its_sentinel_is_stored()
    {
        var store = new InMemoryObjectStore();
        await PutProgressAsync(store, Progress(Previous, Partition("part_001.tar.lz4", ReadAt)));
        await PutPartitionAsync(store, 1_000, seed: 2);
        var catalog = new BackupCatalog(store);

        Assert.Empty(await catalog.ListAsync(Token));

        await store.PutAsync(ArchiveLayout.SentinelKey(Previous), new MemoryStream("{}"u8.ToArray()), cancellationToken: Token);
        Assert.Equal([Previous], (await catalog.ListAsync(Token)).Select(b => b.Name));
    }

    /// <summary>Stores a progress record as backup-push does: the header, then one object per partition.</summary>
    private static async Task PutProgressAsync(InMemoryObjectStore store, BackupProgress progress)
    {
        await store.PutAsync(ArchiveLayout.ProgressKey(progress.BackupName),
            new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(progress, PgArchiveJsonContext.Default.BackupProgress)), cancellationToken: Token);
        foreach (var partition in progress.Partitions)
        {
            await store.PutAsync(ArchiveLayout.ProgressPartitionKey(progress.BackupName, partition.ObjectName),
                new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(partition, PgArchiveJsonContext.Default.BackupProgressPartition)), cancellationToken: Token);
        }
    }

    private static async Task<(string Key, StoredChecksum Checksum)> PutPartitionAsync(InMemoryObjectStore store, int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var key = ArchiveLayout.TarPartitionsPrefix(Previous) + "part_004.tar.lz4";
        await store.PutAsync(key, new MemoryStream(bytes), cancellationToken: Token);
        return (key, new StoredChecksum(size, Convert.ToHexStringLower(XxHash128.Hash(bytes))));
    }
}
