using Amazon.S3.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Storage.Conformance;
using PgArchive.Storage.Testing;

namespace PgArchive.Storage;

/// <summary>S3-specific behaviour, run against each real server.</summary>
public abstract class S3ObjectStoreTests(S3ServerFixture server)
{
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Wrong_secret_is_access_denied_without_the_secret_in_the_message()
    {
        var options = server.Options();
        var secret = "wrong-secret-" + Guid.NewGuid().ToString("N");
        options.SecretAccessKey = secret;
        using var store = new S3ObjectStore(options);

        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/x", new MemoryStream([1, 2, 3]), cancellationToken: Token));
        var head = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("wal_005/x", Token));
        var list = await Assert.ThrowsAsync<ObjectStoreException>(async () => await store.ListAsync("", Token).ToListAsync(Token));

        Assert.All([put, head, list], ex =>
        {
            Assert.Equal(ObjectStoreErrorKind.AccessDenied, ex.Kind);
            Assert.Contains("credentials were refused", ex.Message, StringComparison.Ordinal);
            Assert.Contains("AWS_SECRET_ACCESS_KEY", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, ex.ToString(), StringComparison.Ordinal);
            Assert.False(ex.IsTransient);
        });
    }

    [Fact]
    public async Task Missing_bucket_is_container_not_found_for_every_operation()
    {
        var options = server.Options();
        options.Bucket = "missing-" + Guid.NewGuid().ToString("N")[..12];
        using var store = new S3ObjectStore(options);

        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token));
        var info = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("k", Token));
        var read = await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("k", null, Token));
        var list = await Assert.ThrowsAsync<ObjectStoreException>(async () => await store.ListAsync("", Token).ToListAsync(Token));

        Assert.All([put, info, read, list], ex => Assert.Equal(ObjectStoreErrorKind.ContainerNotFound, ex.Kind));
        Assert.Contains(options.Bucket, put.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_new_sends_If_None_Match_until_the_server_refuses_it_and_leaves_only_its_objects()
    {
        var options = server.Options();
        options.PartSize = 5 << 20;
        using var store = new S3ObjectStore(options);

        // First a multipart upload (the header goes on CompleteMultipartUpload), then a single PUT.
        await store.PutAsync("wal_005/b", new PatternStream(6 << 20), PutMode.CreateNew, Token);
        await store.PutAsync("wal_005/a", new MemoryStream([1]), PutMode.CreateNew, Token);
        var again = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/a", new MemoryStream([2]), PutMode.CreateNew, Token));

        Assert.Equal(ObjectStoreErrorKind.AlreadyExists, again.Kind);
        Assert.Equal(ConditionalWritesAfterwards, store.ConditionalWritesInUse);
        using var client = S3ObjectStore.CreateClient(options);
        var raw = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = options.Bucket, Prefix = options.Prefix + "/" }, Token);
        Assert.Equal([options.Prefix + "/wal_005/a", options.Prefix + "/wal_005/b"], raw.S3Objects.Select(o => o.Key));
        await store.DeleteAsync(["wal_005/a", "wal_005/b"], Token);
    }

    /// <summary>The mode create-only puts use after the first ones on this server.</summary>
    protected abstract S3ConditionalWrites ConditionalWritesAfterwards { get; }

    [Theory]
    [InlineData(10 << 20, 1)]
    [InlineData((23 << 20) + 7, 2)]
    public async Task Multipart_upload_of_unknown_length_round_trips(int size, int concurrentParts)
    {
        var options = server.Options();
        options.PartSize = 5 << 20;
        options.MaxConcurrentParts = concurrentParts;
        using var store = new S3ObjectStore(options);

        await store.PutAsync("basebackups_005/part_001.tar.lz4", new PatternStream(size), cancellationToken: Token);

        Assert.Equal(size, (await store.GetInfoAsync("basebackups_005/part_001.tar.lz4", Token))?.Size);
        await using (var stream = await store.OpenReadAsync("basebackups_005/part_001.tar.lz4", new ByteRange(0), Token))
        {
            Assert.True(await PatternStream.MatchesAsync(stream, size, Token));
        }

        await store.DeleteAsync(["basebackups_005/part_001.tar.lz4"], Token);
    }

    [Fact]
    public async Task Multipart_upload_whose_content_fails_is_aborted_and_stores_nothing()
    {
        var options = server.Options();
        options.PartSize = 5 << 20;
        using var store = new S3ObjectStore(options);

        var content = new FailingStream(new PatternStream(40 << 20), failAfterBytes: 17 << 20);
        var ex = await Assert.ThrowsAsync<IOException>(() => store.PutAsync("big", content, cancellationToken: Token));

        Assert.Equal("Injected read failure.", ex.Message);
        Assert.Null(await store.GetInfoAsync("big", Token));
        Assert.Empty(await store.ListAsync("", Token).ToListAsync(Token));
    }

    [Fact]
    public async Task Cancelling_a_multipart_upload_throws_operation_cancelled_and_stores_nothing()
    {
        var options = server.Options();
        options.PartSize = 5 << 20;
        using var store = new S3ObjectStore(options);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cancel.CancelAfter(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync("cancelled", new SlowStream(new PatternStream(200 << 20)), cancellationToken: cancel.Token));

        Assert.Null(await store.GetInfoAsync("cancelled", Token));
    }

    [Fact]
    public async Task UseS3_binds_a_configuration_section_and_resolves_the_store()
    {
        var options = server.Options();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["S3:Bucket"] = options.Bucket,
            ["S3:Prefix"] = options.Prefix,
            ["S3:ServiceUrl"] = options.ServiceUrl,
            ["S3:ForcePathStyle"] = "true",
            ["S3:AccessKeyId"] = options.AccessKeyId,
            ["S3:SecretAccessKey"] = options.SecretAccessKey,
            ["S3:UseChunkEncoding"] = options.UseChunkEncoding.ToString(),
            ["S3:ChecksumsOnlyWhenRequired"] = options.ChecksumsOnlyWhenRequired.ToString(),
            ["S3:PartSize"] = "5242880",
        }).Build();
        var services = new ServiceCollection();
        services.AddPgArchive().UseS3(configuration.GetSection("S3"));
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IObjectStore>();

        Assert.IsType<S3ObjectStore>(store);
        Assert.Equal(5 << 20, provider.GetRequiredService<IOptions<S3ObjectStoreOptions>>().Value.PartSize);
        await store.PutAsync("from-di", new MemoryStream([7]), cancellationToken: Token);
        Assert.Equal(1, (await store.GetInfoAsync("from-di", Token))?.Size);
        await store.DeleteAsync(["from-di"], Token);
    }

    /// <summary>Yields small reads with a delay, so an upload is still running when it is cancelled.</summary>
    private sealed class SlowStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1 << 20));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(5, cancellationToken);
            return await inner.ReadAsync(buffer[..Math.Min(buffer.Length, 1 << 20)], cancellationToken);
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

public sealed class S3rverSpecificTests(S3rverFixture server) : S3ObjectStoreTests(server)
{
    /// <summary>s3rver accepts If-None-Match without a word (and would overwrite): the HEAD check covers it.</summary>
    protected override S3ConditionalWrites ConditionalWritesAfterwards => S3ConditionalWrites.Auto;
}

public sealed class SwiftS3ApiSpecificTests(SwiftS3ApiFixture server) : S3ObjectStoreTests(server)
{
    /// <summary>Swift's s3api answers 501 "Conditional object PUTs are not supported": the store stops sending it.</summary>
    protected override S3ConditionalWrites ConditionalWritesAfterwards => S3ConditionalWrites.CheckThenPut;

    [Fact]
    public async Task Delete_falls_back_to_one_request_per_key_when_DeleteObjects_is_refused()
    {
        using var store = new S3ObjectStore(server.Options());
        var keys = Enumerable.Range(0, 30).Select(i => $"d/{i:D3}").ToList();
        foreach (var key in keys)
        {
            await store.PutAsync(key, new MemoryStream([1]), cancellationToken: Token);
        }

        await store.DeleteAsync(keys, Token);

        Assert.True(store.BatchDeleteRefused);
        Assert.Empty(await store.ListAsync("d/", Token).ToListAsync(Token));
    }
}
