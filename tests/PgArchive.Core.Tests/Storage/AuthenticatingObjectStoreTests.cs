using System.Security.Cryptography;
using System.Text;
using PgArchive.Authentication;
using PgArchive.Backups;

namespace PgArchive.Storage;

/// <summary>
/// Authenticated archives at the store: over the in-memory and the local-filesystem stores, every put leaves a
/// record; a flipped byte of an object or of its record, a renamed object, two swapped sentinels, a missing record and
/// a wrong key are each refused with a message naming the object and the reason; copies and deletes carry the records.
/// </summary>
public sealed class AuthenticatingObjectStoreTests : IDisposable
{
    private const string SentinelA = "basebackups_005/base_000000010000000000000004_backup_stop_sentinel.json";
    private const string SentinelB = "basebackups_005/base_000000010000000000000006_backup_stop_sentinel.json";
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-auth-").FullName;
    private readonly ArchiveAuthenticationKey _key = new(RandomNumberGenerator.GetBytes(32));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string> Stores => ["memory", "filesystem"];

    /// <summary>The raw store (what a bucket writer sees) and the authenticating store over it.</summary>
    private (IObjectStore Raw, AuthenticatingObjectStore Store) Create(string kind, ArchiveAuthenticationKey? key = null)
    {
        IObjectStore raw = kind == "memory" ? new InMemoryObjectStore() : new LocalFileSystemObjectStore(_root);
        return (raw, new AuthenticatingObjectStore(raw, key ?? _key));
    }

    private static byte[] Sentinel(string name) => Encoding.UTF8.GetBytes(
        $"{{\"LSN\": 67108904, \"FinishLSN\": 67109160, \"PgVersion\": 150010, \"Spec\": null, \"Hostname\": \"{name}\", \"UncompressedSize\": 22900000}}");

    private static async Task<byte[]> ReadAllAsync(IObjectStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key, null, Token);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, Token);
        return buffer.ToArray();
    }

    private static async Task ReplaceAsync(IObjectStore raw, string key, byte[] bytes) =>
        await raw.PutAsync(key, new MemoryStream(bytes), PutMode.Overwrite, Token);

    private static async Task AssertRefusedAsync(IObjectStore store, string key, AuthenticationFailure failure)
    {
        var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => ReadAllAsync(store, key));
        Assert.Equal(failure, ex.Failure);
        Assert.Equal(key, ex.Key);
        Assert.StartsWith($"'{key}' is not authenticated by the configured key (", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("): the archive was written without authentication, with another key, or altered", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Every_put_seekable_or_streamed_stores_a_record_the_listing_never_shows(string kind)
    {
        var (raw, store) = Create(kind);
        var data = RandomNumberGenerator.GetBytes(300_000);

        await store.PutAsync(SentinelA, new MemoryStream(Sentinel("a")), cancellationToken: Token);
        await StreamingUpload.PutAsync(store, "wal_005/000000010000000000000004.lz4", PutMode.CreateNew,
            (sink, ct) => sink.WriteAsync(data, ct).AsTask(), Token);

        Assert.Equal(Sentinel("a"), await ReadAllAsync(store, SentinelA));
        Assert.Equal(data, await ReadAllAsync(store, "wal_005/000000010000000000000004.lz4"));
        var record = Encoding.UTF8.GetString(await ReadAllAsync(raw, "pgarchive_auth/wal_005/000000010000000000000004.lz4"));
        Assert.Contains("\"algorithm\":\"HMAC-SHA256\"", record, StringComparison.Ordinal);
        Assert.Contains($"\"sha256\":\"{Convert.ToHexStringLower(SHA256.HashData(data))}\"", record, StringComparison.Ordinal);
        Assert.Contains("\"size\":300000", record, StringComparison.Ordinal);
        Assert.Equal(4, await CountAsync(raw.ListAsync("", Token)));
        Assert.Equal([SentinelA, "wal_005/000000010000000000000004.lz4"], await KeysAsync(store.ListAsync("", Token)));
        Assert.Empty(await KeysAsync(store.ListAsync("pgarchive_auth/", Token)));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Flipping_any_byte_of_an_object_is_refused(string kind)
    {
        var (raw, store) = Create(kind);
        var original = Sentinel("a");
        await store.PutAsync(SentinelA, new MemoryStream(original), cancellationToken: Token);

        for (var i = 0; i < original.Length; i++)
        {
            var forged = (byte[])original.Clone();
            forged[i] ^= 0x01;
            await ReplaceAsync(raw, SentinelA, forged);
            await AssertRefusedAsync(store, SentinelA, AuthenticationFailure.ContentDiffers);
        }

        await ReplaceAsync(raw, SentinelA, original[..^1]);
        await AssertRefusedAsync(store, SentinelA, AuthenticationFailure.ContentDiffers);
        await ReplaceAsync(raw, SentinelA, [.. original, (byte)' ']);
        await AssertRefusedAsync(store, SentinelA, AuthenticationFailure.ContentDiffers);
        await ReplaceAsync(raw, SentinelA, original);
        Assert.Equal(original, await ReadAllAsync(store, SentinelA));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Flipping_any_byte_of_a_record_is_refused(string kind)
    {
        var (raw, store) = Create(kind);
        await store.PutAsync(SentinelA, new MemoryStream(Sentinel("a")), cancellationToken: Token);
        var recordKey = AuthenticatingObjectStore.SidecarKey(SentinelA);
        var record = await ReadAllAsync(raw, recordKey);

        foreach (var bit in new byte[] { 0x01, 0x20 })
        {
            for (var i = 0; i < record.Length; i++)
            {
                var forged = (byte[])record.Clone();
                forged[i] ^= bit;
                await ReplaceAsync(raw, recordKey, forged);
                var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => ReadAllAsync(store, SentinelA));
                Assert.True(ex.Failure is AuthenticationFailure.MacMismatch or AuthenticationFailure.SidecarUnreadable,
                    $"byte {i} ^ 0x{bit:x2}: {ex.Failure}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_renamed_object_or_two_swapped_sentinels_are_refused_even_with_their_records(string kind)
    {
        var (raw, store) = Create(kind);
        await store.PutAsync(SentinelA, new MemoryStream(Sentinel("a")), cancellationToken: Token);
        await store.PutAsync(SentinelB, new MemoryStream(Sentinel("b")), cancellationToken: Token);
        var (a, aRecord) = (await ReadAllAsync(raw, SentinelA), await ReadAllAsync(raw, AuthenticatingObjectStore.SidecarKey(SentinelA)));
        var (b, bRecord) = (await ReadAllAsync(raw, SentinelB), await ReadAllAsync(raw, AuthenticatingObjectStore.SidecarKey(SentinelB)));

        // Swapped, each with its record.
        await ReplaceAsync(raw, SentinelA, b);
        await ReplaceAsync(raw, AuthenticatingObjectStore.SidecarKey(SentinelA), bRecord);
        await ReplaceAsync(raw, SentinelB, a);
        await ReplaceAsync(raw, AuthenticatingObjectStore.SidecarKey(SentinelB), aRecord);
        await AssertRefusedAsync(store, SentinelA, AuthenticationFailure.MacMismatch);
        await AssertRefusedAsync(store, SentinelB, AuthenticationFailure.MacMismatch);

        // Renamed with its record, to a name that had none.
        const string renamed = "basebackups_005/base_000000010000000000000009_backup_stop_sentinel.json";
        await ReplaceAsync(raw, renamed, a);
        await ReplaceAsync(raw, AuthenticatingObjectStore.SidecarKey(renamed), aRecord);
        await AssertRefusedAsync(store, renamed, AuthenticationFailure.MacMismatch);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task An_object_without_a_record_or_signed_with_another_key_is_refused(string kind)
    {
        var (raw, store) = Create(kind);
        await raw.PutAsync(SentinelA, new MemoryStream(Sentinel("a")), cancellationToken: Token); // as WAL-G, or a writer without the key
        await AssertRefusedAsync(store, SentinelA, AuthenticationFailure.SidecarMissing);

        var otherKey = new AuthenticatingObjectStore(raw, new ArchiveAuthenticationKey(RandomNumberGenerator.GetBytes(32)));
        await otherKey.PutAsync(SentinelB, new MemoryStream(Sentinel("b")), cancellationToken: Token);
        await AssertRefusedAsync(store, SentinelB, AuthenticationFailure.MacMismatch);

        var missing = await Assert.ThrowsAsync<ObjectStoreException>(() => ReadAllAsync(store, "wal_005/000000010000000000000001.lz4"));
        Assert.Equal(ObjectStoreErrorKind.NotFound, missing.Kind);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_reader_that_stops_at_the_recorded_size_is_still_refused_before_it_sees_forged_last_bytes(string kind)
    {
        var (raw, store) = Create(kind);
        var original = RandomNumberGenerator.GetBytes(10_000);
        await store.PutAsync("wal_005/x", new MemoryStream(original), cancellationToken: Token);
        var forged = (byte[])original.Clone();
        forged[^1] ^= 0xFF;
        await ReplaceAsync(raw, "wal_005/x", forged);

        await using var stream = await store.OpenReadAsync("wal_005/x", null, Token);
        var buffer = new byte[original.Length];
        await stream.ReadExactlyAsync(buffer.AsMemory(0, 9_000), Token);
        var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(async () => await stream.ReadExactlyAsync(buffer.AsMemory(9_000), Token));
        Assert.Equal(AuthenticationFailure.ContentDiffers, ex.Failure);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_failed_record_put_fails_the_put(string kind)
    {
        var (raw, _) = Create(kind);
        var failing = new Support.RecordPutFailingStore(raw);
        var store = new AuthenticatingObjectStore(failing, _key);
        failing.FailNextRecordPuts(1);

        await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync(SentinelA, new MemoryStream(Sentinel("a")), cancellationToken: Token));

        await AssertRefusedAsync(store, SentinelA, AuthenticationFailure.SidecarMissing);
        await store.PutAsync(SentinelA, new MemoryStream(Sentinel("a")), cancellationToken: Token);
        Assert.Equal(Sentinel("a"), await ReadAllAsync(store, SentinelA));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Delete_removes_the_records_with_the_objects(string kind)
    {
        var (raw, store) = Create(kind);
        await store.PutAsync(SentinelA, new MemoryStream(Sentinel("a")), cancellationToken: Token);
        await store.PutAsync(SentinelB, new MemoryStream(Sentinel("b")), cancellationToken: Token);

        await store.DeleteAsync([SentinelA, "wal_005/never-stored"], Token);

        Assert.Equal([SentinelB, AuthenticatingObjectStore.SidecarKey(SentinelB)], (await KeysAsync(raw.ListAsync("", Token))).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Copy_records_the_copy_so_it_reads_back_and_an_altered_source_yields_a_refused_copy(string kind)
    {
        var (raw, store) = Create(kind);
        Assert.True(store.CanCopy);
        const string source = "basebackups_005/base_000000010000000000000004/tar_partitions/part_001.tar.lz4";
        const string destination = "basebackups_005/base_000000010000000000000006/tar_partitions/part_001.tar.lz4";
        var data = RandomNumberGenerator.GetBytes(100_000);
        await store.PutAsync(source, new MemoryStream(data), cancellationToken: Token);

        await store.CopyAsync(source, destination, Token);
        Assert.Equal(data, await ReadAllAsync(store, destination));

        var altered = (byte[])data.Clone();
        altered[50_000] ^= 0x04;
        await ReplaceAsync(raw, source, altered);
        await store.CopyAsync(source, destination, Token);
        await AssertRefusedAsync(store, destination, AuthenticationFailure.ContentDiffers);

        await raw.DeleteAsync([AuthenticatingObjectStore.SidecarKey(source)], Token);
        var unauthenticated = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => store.CopyAsync(source, destination, Token));
        Assert.Equal(AuthenticationFailure.SidecarMissing, unauthenticated.Failure);
        var missing = await Assert.ThrowsAsync<ObjectStoreException>(() => store.CopyAsync("wal_005/missing", "wal_005/copy", Token));
        Assert.Equal(ObjectStoreErrorKind.NotFound, missing.Kind);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Keys_under_the_records_prefix_cannot_be_written_or_read_through_it(string kind)
    {
        var (_, store) = Create(kind);
        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("pgarchive_auth/wal_005/x", new MemoryStream([1]), cancellationToken: Token));
        await Assert.ThrowsAsync<ArgumentException>(() => store.OpenReadAsync("pgarchive_auth/wal_005/x", null, Token));
    }

    [Fact]
    public async Task An_unauthenticated_progress_record_or_partition_is_not_reused_and_does_not_fail_the_resume()
    {
        var (raw, store) = Create("memory");
        var backup = "base_000000010000000000000004";
        var progress = new BackupProgress
        {
            BackupName = backup, SystemIdentifier = 1, Timeline = 1, PgVersion = 150010, StartTime = DateTimeOffset.UnixEpoch,
            CodecIdentity = "compression:lz4;encryption:none",
        };
        await raw.PutAsync(ArchiveLayout.ProgressKey(backup), new MemoryStream(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(progress,
            PgArchiveJsonContext.Default.BackupProgress)), cancellationToken: Token); // written before authentication was turned on

        var (found, refused) = await BackupResume.FindAsync(store, new BackupResume.Attempt("base_000000010000000000000006", 1, 1, 150010,
            "compression:lz4;encryption:none", false), DateTimeOffset.UtcNow.AddHours(1), Token); // an hour on: no backup-push still writes it
        Assert.Null(found);
        Assert.NotNull(refused); // skipped as unreadable: "no interrupted backup with a progress record"

        var source = ArchiveLayout.TarPartitionsPrefix(backup) + "part_001.tar.lz4";
        var data = RandomNumberGenerator.GetBytes(5_000);
        await raw.PutAsync(source, new MemoryStream(data), cancellationToken: Token);
        var destination = ArchiveLayout.TarPartitionsPrefix("base_000000010000000000000006") + "part_001.tar.lz4";
        var checksum = new StoredChecksum(data.Length, Convert.ToHexStringLower(System.IO.Hashing.XxHash128.Hash(data)));
        foreach (var through in new IObjectStore[] { store, new Support.ReadWriteOnlyStore(store) })
        {
            var refusal = await BackupResume.CopyVerifiedAsync(through, source, destination, checksum, Token);
            Assert.Contains("is not authenticated by the configured key (sidecar missing)", refusal, StringComparison.Ordinal);
            Assert.Null(await raw.GetInfoAsync(destination, Token));
        }
    }

    private static async Task<int> CountAsync(IAsyncEnumerable<ObjectInfo> listing) => (await KeysAsync(listing)).Count;

    private static async Task<List<string>> KeysAsync(IAsyncEnumerable<ObjectInfo> listing)
    {
        var keys = new List<string>();
        await foreach (var info in listing)
        {
            keys.Add(info.Key);
        }

        return keys;
    }
}
