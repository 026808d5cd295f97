using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// A backup-push's claim on its backup name, on real stores: of runs claiming one name at once exactly one gets it and
/// the others fail naming the backup; a finished backup's name is refused without leaving a claim; the heartbeat
/// keeps the claim fresh and notices when it was replaced or removed; before the sentinel, partitions another process
/// rewrote or added are refused; a claim given up unfinished is marked interrupted; the release removes the claim and
/// the partition records.
/// </summary>
public sealed class BackupClaimTests : IDisposable
{
    private const string Name = "base_000000010000000000000007";
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-claim-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string> Stores => ["memory", "filesystem"];

    private IObjectStore StoreFor(string kind) => kind == "memory" ? new InMemoryObjectStore(_time) : new LocalFileSystemObjectStore(_root);

    private static BackupProgress Record(string name = Name) => new()
    {
        BackupName = name,
        SystemIdentifier = 7300000000000000001,
        Timeline = 1,
        StartTime = DateTimeOffset.UtcNow,
        PgVersion = 150010,
        CodecIdentity = "compression:lz4;encryption:none",
    };

    private Task<BackupClaim> AcquireAsync(IObjectStore store, string name = Name) =>
        BackupClaim.AcquireAsync(store, Record(name), _time, NullLogger.Instance, Token);

    private static Task PutAsync(IObjectStore store, string key, string content) =>
        store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(content)), PutMode.Overwrite, Token);

    private static async Task<BackupProgress> ReadClaimAsync(IObjectStore store, string name = Name) =>
        (await BackupClaim.ReadAsync(store, name, Token)).Record!;

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Of_runs_claiming_one_name_at_once_exactly_one_gets_it_and_the_others_fail_naming_the_backup(string kind)
    {
        var store = StoreFor(kind);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run<(BackupClaim? Claim, Exception? Error)>(async () =>
        {
            try
            {
                return (await AcquireAsync(store), null);
            }
            catch (PgArchiveException ex)
            {
                return (null, ex);
            }
        }, Token)));

        var winner = Assert.Single(attempts, a => a.Claim is not null).Claim!;
        await using (winner)
        {
            Assert.Equal(winner.Record.ClaimId, (await ReadClaimAsync(store)).ClaimId);
            foreach (var (_, error) in attempts.Where(a => a.Claim is null))
            {
                Assert.StartsWith($"Backup {Name} is being written by another backup-push (process {Environment.ProcessId} on {Environment.MachineName}", error!.Message, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_finished_backups_name_is_refused_and_no_claim_is_left(string kind)
    {
        var store = StoreFor(kind);
        await PutAsync(store, ArchiveLayout.SentinelKey(Name), "{}");

        var refused = await Assert.ThrowsAsync<PgArchiveException>(() => AcquireAsync(store));

        Assert.StartsWith($"A backup named {Name} already exists", refused.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetInfoAsync(ArchiveLayout.ProgressKey(Name), Token));
    }

    [Fact]
    public async Task A_name_left_claimed_by_a_backup_push_that_ended_is_refused_with_what_to_do()
    {
        var store = StoreFor("memory");
        var ended = Record();
        ended.Hostname = Environment.MachineName;
        ended.ProcessId = int.MaxValue; // no such process
        await PutAsync(store, ArchiveLayout.ProgressKey(Name), JsonSerializer.Serialize(ended, PgArchiveJsonContext.Default.BackupProgress));

        var refused = await Assert.ThrowsAsync<PgArchiveException>(() => AcquireAsync(store));

        Assert.StartsWith($"Backup {Name} was claimed by another backup-push (process {int.MaxValue} on {Environment.MachineName}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("ended without finishing it", refused.Message, StringComparison.Ordinal);
        Assert.Contains("run CHECKPOINT on the primary", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task What_an_unclaimed_run_left_under_the_name_is_removed_once_claimed(string kind)
    {
        var store = StoreFor(kind);
        await PutAsync(store, ArchiveLayout.TarPartitionsPrefix(Name) + "part_009.tar.lz4", "left by a run that predates claims");
        await PutAsync(store, ArchiveLayout.TarPartitionsPrefix("base_000000010000000000000008") + "part_001.tar.lz4", "another backup");

        await using var claim = await AcquireAsync(store);

        var keys = new List<string>();
        await foreach (var info in store.ListAsync(ArchiveLayout.BaseBackupsPrefix, Token))
        {
            keys.Add(info.Key);
        }

        Assert.Equal([ArchiveLayout.ProgressKey(Name), ArchiveLayout.TarPartitionsPrefix("base_000000010000000000000008") + "part_001.tar.lz4"], keys);
    }

    [Fact]
    public async Task The_heartbeat_rewrites_the_claim_every_minute()
    {
        var store = StoreFor("memory");
        await using var claim = await AcquireAsync(store);
        var claimed = (await store.GetInfoAsync(ArchiveLayout.ProgressKey(Name), Token))!.LastModified;

        _time.Advance(BackupClaim.HeartbeatInterval);

        await WaitUntilAsync(async () => (await store.GetInfoAsync(ArchiveLayout.ProgressKey(Name), Token))!.LastModified > claimed);
        claim.ThrowIfLost();
        Assert.Equal(claim.Record.ClaimId, (await ReadClaimAsync(store)).ClaimId);
    }

    [Fact]
    public async Task The_heartbeat_stops_the_run_whose_claim_another_replaced()
    {
        var store = StoreFor("memory");
        await using var claim = await AcquireAsync(store);
        var other = Record();
        other.ClaimId = "another";
        other.Hostname = "elsewhere";
        other.ProcessId = 42;
        await PutAsync(store, ArchiveLayout.ProgressKey(Name), JsonSerializer.Serialize(other, PgArchiveJsonContext.Default.BackupProgress));

        _time.Advance(BackupClaim.HeartbeatInterval);

        await WaitUntilAsync(() => Task.FromResult(Throws(claim.ThrowIfLost)));
        var lost = Assert.Throws<PgArchiveException>(claim.ThrowIfLost);
        Assert.Contains($"now names another backup-push (process 42 on elsewhere", lost.Message, StringComparison.Ordinal);
        Assert.Equal("another", (await ReadClaimAsync(store)).ClaimId); // left as the other run wrote it
    }

    [Fact]
    public async Task The_heartbeat_does_not_bring_back_a_claim_that_was_removed()
    {
        var store = StoreFor("memory");
        await using var claim = await AcquireAsync(store);
        await store.DeleteAsync([ArchiveLayout.ProgressKey(Name)], Token);

        _time.Advance(BackupClaim.HeartbeatInterval);

        await WaitUntilAsync(() => Task.FromResult(Throws(claim.ThrowIfLost)));
        Assert.Contains("was removed", Assert.Throws<PgArchiveException>(claim.ThrowIfLost).Message, StringComparison.Ordinal);
        Assert.Null(await store.GetInfoAsync(ArchiveLayout.ProgressKey(Name), Token));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Before_the_sentinel_partitions_another_process_rewrote_or_added_are_refused(string kind)
    {
        var store = StoreFor(kind);
        var prefix = ArchiveLayout.TarPartitionsPrefix(Name);
        var stored = new Dictionary<string, StoredChecksum>(StringComparer.Ordinal) { ["part_001.tar.lz4"] = new(10, "00"), ["pg_control.tar.lz4"] = new(3, "00") };
        await using (var claim = await AcquireAsync(store))
        {
            await PutAsync(store, prefix + "part_001.tar.lz4", "0123456789");
            await PutAsync(store, prefix + "pg_control.tar.lz4", "abc");
            await claim.ConfirmAsync(stored, Token);
        }

        await store.DeleteAsync([ArchiveLayout.ProgressKey(Name)], Token);
        await using (var claim = await AcquireAsync(store))
        {
            await PutAsync(store, prefix + "part_001.tar.lz4", "0123456789A");
            await PutAsync(store, prefix + "pg_control.tar.lz4", "abc");
            var rewritten = await Assert.ThrowsAsync<PgArchiveException>(() => claim.ConfirmAsync(stored, Token));
            Assert.Contains($"({prefix}part_001.tar.lz4 holds 11 bytes, this backup-push stored 10); it was not made visible", rewritten.Message, StringComparison.Ordinal);
        }

        await store.DeleteAsync([ArchiveLayout.ProgressKey(Name)], Token);
        await using (var claim = await AcquireAsync(store))
        {
            await PutAsync(store, prefix + "part_001.tar.lz4", "0123456789");
            await PutAsync(store, prefix + "part_002.tar.lz4", "another run's");
            await PutAsync(store, prefix + "pg_control.tar.lz4", "abc");
            var added = await Assert.ThrowsAsync<PgArchiveException>(() => claim.ConfirmAsync(stored, Token));
            Assert.Contains($"{prefix}part_002.tar.lz4 was not stored by this backup-push", added.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Before_the_sentinel_a_claim_that_is_no_longer_this_runs_is_refused()
    {
        var store = StoreFor("memory");
        await using var claim = await AcquireAsync(store);
        await store.DeleteAsync([ArchiveLayout.ProgressKey(Name)], Token);

        var lost = await Assert.ThrowsAsync<PgArchiveException>(() => claim.ConfirmAsync(new Dictionary<string, StoredChecksum>(), Token));

        Assert.StartsWith($"Backup {Name} is no longer claimed by this backup-push: {ArchiveLayout.ProgressKey(Name)} was removed.", lost.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_claim_given_up_before_the_backup_finished_stays_marked_interrupted_even_while_its_process_runs(string kind)
    {
        var store = StoreFor(kind);
        var claim = await AcquireAsync(store);
        var now = _time.GetUtcNow();
        Assert.Equal(BackupClaim.WriterState.Running, BackupClaim.StateOf(await ReadClaimAsync(store), now, now));

        await claim.DisposeAsync(); // a failed backup-push in a process that stays up (a service)

        var left = await ReadClaimAsync(store);
        Assert.True(left.Interrupted);
        Assert.Equal(claim.Record.ClaimId, left.ClaimId);
        Assert.Equal(BackupClaim.WriterState.Ended, BackupClaim.StateOf(left, now, now));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Release_removes_the_claim_and_the_partition_records(string kind)
    {
        var store = StoreFor(kind);
        await using var claim = await AcquireAsync(store);
        await PutAsync(store, ArchiveLayout.ProgressPartitionKey(Name, "part_001.tar.lz4"), "{}");
        await PutAsync(store, ArchiveLayout.TarPartitionsPrefix(Name) + "part_001.tar.lz4", "tar");

        await claim.ReleaseAsync(Token);
        await claim.DisposeAsync();

        Assert.Null(await store.GetInfoAsync(ArchiveLayout.ProgressKey(Name), Token));
        Assert.Null(await store.GetInfoAsync(ArchiveLayout.ProgressPartitionKey(Name, "part_001.tar.lz4"), Token));
        Assert.NotNull(await store.GetInfoAsync(ArchiveLayout.TarPartitionsPrefix(Name) + "part_001.tar.lz4", Token));
    }

    private static bool Throws(Action action)
    {
        try
        {
            action();
            return false;
        }
        catch (PgArchiveException)
        {
            return true;
        }
    }

    /// <summary>The heartbeat runs on the fake clock's timer callback: waits (in real time) until it has done its work.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the heartbeat did not run");
            await Task.Delay(10, Token);
        }
    }
}
