using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Google;
using Google.Apis.Auth.OAuth2.Responses;
using Google.Apis.Requests;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// What is particular to Google Cloud Storage, against the emulator. The emulator authenticates nobody and creates
/// buckets on first use, so wrong credentials and a missing bucket cannot be produced by it: for those, the tests
/// check how the store maps the service's documented answers (401/403 JSON errors, 404 "bucket does not exist",
/// OAuth token errors) and how it loads key files.
/// </summary>
public sealed class GcsObjectStoreTests(GcsEmulatorFixture gcs)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly string _prefix = "specific/" + Guid.NewGuid().ToString("N");

    private GcsObjectStore NewStore(Action<GcsObjectStoreOptions>? configure = null)
    {
        var options = gcs.Options(_prefix);
        configure?.Invoke(options);
        return new GcsObjectStore(GcsObjectStore.CreateClient(options), options);
    }

    private static async Task<byte[]> ReadAllAsync(GcsObjectStore store, string key, ByteRange? range = null)
    {
        await using var stream = await store.OpenReadAsync(key, range, Token);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, Token);
        return buffer.ToArray();
    }

    [Fact]
    public async Task Objects_are_named_prefix_slash_key_in_the_bucket_with_their_hashes()
    {
        var store = NewStore();
        var data = RandomNumberGenerator.GetBytes(700_000);

        await store.PutAsync("wal_005/000000010000000000000003.lz4", new UnseekableStream(new MemoryStream(data)), cancellationToken: Token);

        var item = await gcs.Client.GetObjectAsync(gcs.Bucket, _prefix + "/wal_005/000000010000000000000003.lz4", cancellationToken: Token);
        Assert.Equal(700_000UL, item.Size);
#pragma warning disable CA5351 // MD5 is the checksum GCS reports, not a security measure.
        Assert.Equal(Convert.ToBase64String(MD5.HashData(data)), item.Md5Hash);
#pragma warning restore CA5351
        Assert.False(string.IsNullOrEmpty(item.Crc32c));
        Assert.Equal("application/octet-stream", item.ContentType);
    }

    [Fact]
    public async Task Read_with_a_range_at_or_past_the_end_returns_nothing()
    {
        var store = NewStore();
        await store.PutAsync("short", new MemoryStream("hello world"u8.ToArray()), cancellationToken: Token);

        Assert.Empty(await ReadAllAsync(store, "short", new ByteRange(11)));
        Assert.Empty(await ReadAllAsync(store, "short", new ByteRange(50, 10)));
        Assert.Equal("world"u8.ToArray(), await ReadAllAsync(store, "short", new ByteRange(6, 100)));
        var missing = await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("absent", new ByteRange(1, 2), Token));
        Assert.Equal(ObjectStoreErrorKind.NotFound, missing.Kind);
    }

    [Fact]
    public async Task Full_read_fails_when_the_stored_bytes_no_longer_match_the_object_hash()
    {
        var store = NewStore();
        var data = RandomNumberGenerator.GetBytes(200_000);
        await store.PutAsync("wal_005/damaged", new MemoryStream(data), cancellationToken: Token);
        // Damage the bytes behind the emulator's back: its metadata (and x-goog-hash) still describe the original.
        var file = Directory.EnumerateFiles(gcs.BlobDirectory).Single(f => HoldsExactly(f, data));
        var damaged = (byte[])data.Clone();
        damaged[100_000] ^= 0xFF;
        await File.WriteAllBytesAsync(file, damaged, Token);

        // Small objects are checked before the first byte is handed over, larger ones at their end: either way, no
        // read completes.
        var ex = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
        {
            await using var stream = await store.OpenReadAsync("wal_005/damaged", cancellationToken: Token);
            await stream.CopyToAsync(Stream.Null, Token);
        });

        Assert.Contains("Integrity check failed", ex.Message, StringComparison.Ordinal);
        Assert.Equal("wal_005/damaged", ex.Key);
    }

    /// <summary>Whether the emulator's blob file holds exactly <paramref name="data"/>; false for a file that another test's delete removed meanwhile (the emulator is shared).</summary>
    private static bool HoldsExactly(string path, byte[] data)
    {
        try
        {
            return new FileInfo(path).Length == data.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(data);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Put_whose_content_fails_after_some_chunks_stores_nothing_and_surfaces_the_content_error()
    {
        var store = NewStore(o => o.ChunkSize = GcsObjectStoreOptions.ChunkGranularity);
        var failing = new FailingStream(new MemoryStream(new byte[4 << 20]), failAfterBytes: 1 << 20);

        var ex = await Assert.ThrowsAsync<IOException>(() => store.PutAsync("partial", failing, cancellationToken: Token));

        Assert.Equal("Injected read failure.", ex.Message);
        Assert.Null(await store.GetInfoAsync("partial", Token));
    }

    [Fact]
    public async Task Cancelling_a_resumable_upload_midway_stores_nothing()
    {
        var store = NewStore(o => o.ChunkSize = GcsObjectStoreOptions.ChunkGranularity);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var content = new CallbackStream(new PatternStream(32L << 20), afterBytes: 2L << 20, () => cancellation.Cancel());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync("cancelled", content, cancellationToken: cancellation.Token));

        Assert.Null(await store.GetInfoAsync("cancelled", Token));
    }

    [Fact]
    public async Task Disposing_a_read_stream_early_stops_the_download()
    {
        var store = NewStore();
        await store.PutAsync("big", new PatternStream(24L << 20), cancellationToken: Token);

        var stream = await store.OpenReadAsync("big", cancellationToken: Token);
        var buffer = new byte[4096];
        Assert.True(await stream.ReadAsync(buffer, Token) > 0);
        await stream.DisposeAsync();

        // The store still works and a full read still matches.
        await using var again = await store.OpenReadAsync("big", cancellationToken: Token);
        Assert.True(await PatternStream.MatchesAsync(again, 24L << 20, Token));
    }

    [Fact]
    public async Task Unreachable_endpoint_is_unavailable_and_transient()
    {
        var port = GcsEmulatorFixture.FreePort();
        var store = NewStore(o =>
        {
            o.EmulatorHost = $"127.0.0.1:{port}";
            o.MaxRetries = 1;
            o.RetryDelay = TimeSpan.FromMilliseconds(10);
        });

        var info = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("k", Token));
        var read = await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("k", cancellationToken: Token));
        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token));

        Assert.All(new[] { info, read, put }, ex =>
        {
            Assert.Equal(ObjectStoreErrorKind.Unavailable, ex.Kind);
            Assert.True(ex.IsTransient);
        });
        Assert.Contains($"127.0.0.1:{port}", info.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(401, "authError", ObjectStoreErrorKind.AccessDenied, "GOOGLE_APPLICATION_CREDENTIALS")]
    [InlineData(403, "forbidden", ObjectStoreErrorKind.AccessDenied, "roles/storage.objectUser")]
    [InlineData(429, "rateLimitExceeded", ObjectStoreErrorKind.Throttled, "rate-limiting")]
    [InlineData(503, "backendError", ObjectStoreErrorKind.Unavailable, "try again later")]
    public void Service_errors_map_to_kinds_with_actionable_text(int status, string reason, ObjectStoreErrorKind kind, string advice)
    {
        var store = NewStore();
        var error = ApiError((HttpStatusCode)status, reason, "Anonymous caller does not have storage.objects.get access.");

        var mapped = store.Translate("wal_005/x", error, PutMode.Overwrite);

        Assert.NotNull(mapped);
        Assert.Equal(kind, mapped.Kind);
        Assert.Contains(advice, mapped.Message, StringComparison.Ordinal);
        Assert.Contains($"HTTP {status} {reason}", mapped.Message, StringComparison.Ordinal);
        Assert.Same(error, mapped.InnerException);
    }

    [Fact]
    public void Missing_bucket_maps_to_container_not_found_and_a_precondition_failure_to_already_exists()
    {
        var store = NewStore();

        var bucket = store.Translate("wal_005/x", ApiError(HttpStatusCode.NotFound, "notFound", "The specified bucket does not exist."), PutMode.Overwrite);
        var listing = store.Translate(null, ApiError(HttpStatusCode.NotFound, "notFound", "Not Found"), PutMode.Overwrite);
        var exists = store.Translate("k", ApiError(HttpStatusCode.PreconditionFailed, "conditionNotMet", "At least one of the pre-conditions you specified did not hold."), PutMode.CreateNew);
        var missing = store.Translate("k", ApiError(HttpStatusCode.NotFound, "notFound", "No such object: b/k"), PutMode.Overwrite);

        Assert.Equal(ObjectStoreErrorKind.ContainerNotFound, bucket!.Kind);
        Assert.Contains($"bucket '{gcs.Bucket}' does not exist", bucket.Message, StringComparison.Ordinal);
        Assert.Contains("WALG_GS_PREFIX", bucket.Message, StringComparison.Ordinal);
        Assert.Equal(ObjectStoreErrorKind.ContainerNotFound, listing!.Kind);
        Assert.Equal(ObjectStoreErrorKind.AlreadyExists, exists!.Kind);
        Assert.Equal(ObjectStoreErrorKind.NotFound, missing!.Kind);
    }

    [Fact]
    public void Refused_token_is_access_denied_without_the_credential()
    {
        var store = NewStore();
        var refused = new TokenResponseException(new TokenErrorResponse { Error = "invalid_grant", ErrorDescription = "Invalid JWT Signature." }, HttpStatusCode.BadRequest);

        var mapped = store.Translate("wal_005/x", refused, PutMode.Overwrite);

        Assert.Equal(ObjectStoreErrorKind.AccessDenied, mapped!.Kind);
        Assert.Contains("invalid_grant", mapped.Message, StringComparison.Ordinal);
        Assert.Contains("GOOGLE_APPLICATION_CREDENTIALS", mapped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Service_account_key_file_loads_and_bad_files_are_configuration_errors_that_do_not_echo_them()
    {
        var directory = Directory.CreateTempSubdirectory("pgarchive-gcs-keys-").FullName;
        try
        {
            using var rsa = RSA.Create(2048);
            var secretKey = rsa.ExportPkcs8PrivateKeyPem();
            var good = Path.Combine(directory, "sa.json");
            await File.WriteAllTextAsync(good, JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["type"] = "service_account",
                ["project_id"] = "demo-pgarchive",
                ["private_key_id"] = "0123456789abcdef",
                ["private_key"] = secretKey,
                ["client_email"] = "pgarchive@demo-pgarchive.iam.gserviceaccount.com",
                ["client_id"] = "1234567890",
                ["token_uri"] = "https://oauth2.googleapis.com/token",
            }), Token);
            var user = Path.Combine(directory, "user.json");
            await File.WriteAllTextAsync(user, """{"type":"authorized_user","client_id":"x","client_secret":"user-secret-value","refresh_token":"refresh-secret-value"}""", Token);
            var garbage = Path.Combine(directory, "garbage.json");
            await File.WriteAllTextAsync(garbage, "not json but a secret-looking-value", Token);

            using var client = GcsObjectStore.CreateClient(new GcsObjectStoreOptions { BucketName = "b", CredentialsPath = good });
            var wrongType = Assert.Throws<PgArchiveConfigurationException>(() => GcsObjectStore.CreateClient(new GcsObjectStoreOptions { BucketName = "b", CredentialsPath = user }));
            var notJson = Assert.Throws<PgArchiveConfigurationException>(() => GcsObjectStore.CreateClient(new GcsObjectStoreOptions { BucketName = "b", CredentialsPath = garbage }));
            var absent = Assert.Throws<PgArchiveConfigurationException>(() => GcsObjectStore.CreateClient(new GcsObjectStoreOptions { BucketName = "b", CredentialsPath = Path.Combine(directory, "absent.json") }));

            Assert.NotNull(client);
            Assert.Contains("is not a service-account key file", wrongType.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("user-secret-value", wrongType.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("refresh-secret-value", wrongType.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("secret-looking-value", notJson.ToString(), StringComparison.Ordinal);
            Assert.Contains("Cannot read the service-account key file", absent.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static GoogleApiException ApiError(HttpStatusCode status, string reason, string message) =>
        new("storage", message)
        {
            HttpStatusCode = status,
            Error = new RequestError
            {
                Code = (int)status,
                Message = message,
                Errors = [new SingleError { Domain = "global", Reason = reason, Message = message }],
            },
        };

    /// <summary>Runs an action once the given number of bytes was read through it.</summary>
    private sealed class CallbackStream(Stream inner, long afterBytes, Action callback) : Stream
    {
        private long _read;
        private bool _called;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            if (!_called && _read >= afterBytes)
            {
                _called = true;
                callback();
            }

            return read;
        }
    }
}
