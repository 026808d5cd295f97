using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The S3 store (the real AWS SDK, our retry layers) against s3rver through <see cref="FaultProxy"/>: transient faults
/// on 10% of the requests (500, 503 SlowDown, reset connections, truncated downloads, latency) are ridden out with
/// every byte intact; a fault that does not go away fails the call with a clear error and stores nothing. And the
/// cut-download contract, through our retry layer as the CLI registers the store (MaxRetries 2): the store resumes a
/// cut download itself with a ranged GET on the ETag first read.
/// </summary>
public sealed class S3FaultProxyTests(S3rverFixture server, ITestOutputHelper output) : CutDownloadConformanceTests, IDisposable
{
    private readonly List<S3ObjectStore> _stores = [];

    protected override CutCount CutsWhenCutEveryTime => CutCount.Exactly(3); // the first GET and MaxRetries (2) resumed ones

    /// <summary>The store resumes with If-Match on the ETag, but s3rver ignores conditional GETs (it has no If-Match handling).</summary>
    protected override bool PinsVersion => false;

    protected override string NotPinnedReason =>
        "s3rver ignores If-Match on GET, so a replaced object is served to the resumed GET: the pin cannot be checked against it.";

    protected override FaultProxy StartProxy() => FaultProxy.Start(new Uri(server.Server["S3_ENDPOINT"]));

    protected override IObjectStore CreateStore(FaultProxy proxy)
    {
        var options = server.Options(Prefix);
        options.ServiceUrl = proxy.Endpoint.ToString().TrimEnd('/');
        var s3 = new S3ObjectStore(options);
        _stores.Add(s3);
        return new RetryingObjectStore(s3, Options.Create(new PgArchiveOptions()));
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }

    private (IObjectStore Store, S3ObjectStore S3) CreateRetryingStore(FaultProxy proxy, int maxRetries = 10)
    {
        var options = server.Options();
        options.ServiceUrl = proxy.Endpoint.ToString().TrimEnd('/');
        options.MaxRetries = maxRetries;
        options.PartSize = 5 << 20;
        var s3 = new S3ObjectStore(options);
        // As the CLI registers it: our retry layer in front (it leaves a self-retrying store to the SDK).
        return (new RetryingObjectStore(s3, Options.Create(new PgArchiveOptions())), s3);
    }

    [Fact]
    public async Task Puts_and_gets_ride_out_ten_percent_transient_faults_with_identical_bytes()
    {
        var seed = Environment.TickCount;
        await using var proxy = FaultProxy.Start(new Uri(server.Server["S3_ENDPOINT"]), transientRate: 0.1, seed: seed);
        var (store, s3) = CreateRetryingStore(proxy);
        using var disposeS3 = s3;
        var random = new Random(seed);
        var objects = new Dictionary<string, byte[]>();
        for (var i = 0; i < 40; i++)
        {
            objects[$"wal_005/small-{i:D2}"] = RandomNumberGenerator.GetBytes(random.Next(0, 256 << 10));
        }

        // Multipart: 3 and 4 parts of 5 MiB, the last one short.
        objects["basebackups_005/base_1/tar_partitions/part_1.tar.lz4"] = RandomNumberGenerator.GetBytes((12 << 20) + 12345);
        objects["basebackups_005/base_1/tar_partitions/part_2.tar.lz4"] = RandomNumberGenerator.GetBytes((16 << 20) + 1);

        await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Token }, async (pair, ct) =>
        {
            // Half of them as unseekable streams, as the backup pipeline sends them.
            Stream content = pair.Value.Length % 2 == 0 ? new MemoryStream(pair.Value) : new UnseekableStream(new MemoryStream(pair.Value));
            await store.PutAsync(pair.Key, content, PutMode.Overwrite, ct);
        });
        var afterPuts = proxy.Requests;

        var listed = await store.ListAsync("", Token).ToListAsync(Token);
        Assert.Equal(objects.Keys.Order(StringComparer.Ordinal), listed.Select(o => o.Key));
        Assert.All(listed, info => Assert.Equal(objects[info.Key].Length, info.Size));
        await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Token }, async (pair, ct) =>
        {
            await using var read = await store.OpenReadAsync(pair.Key, cancellationToken: ct);
            using var copy = new MemoryStream();
            await read.CopyToAsync(copy, ct);
            Assert.True(pair.Value.AsSpan().SequenceEqual(copy.ToArray()), $"{pair.Key}: {copy.Length} bytes read, {pair.Value.Length} written, or different bytes");
        });
        var range = await store.OpenReadAsync("basebackups_005/base_1/tar_partitions/part_2.tar.lz4", new ByteRange(7 << 20, 1 << 20), Token);
        await using (range)
        {
            using var copy = new MemoryStream();
            await range.CopyToAsync(copy, Token);
            Assert.True(objects["basebackups_005/base_1/tar_partitions/part_2.tar.lz4"].AsSpan(7 << 20, 1 << 20).SequenceEqual(copy.ToArray()));
        }

        await store.DeleteAsync(objects.Keys, Token);
        Assert.Empty(await store.ListAsync("", Token).ToListAsync(Token));

        output.WriteLine(proxy.Summary() + string.Create(CultureInfo.InvariantCulture, $"; {afterPuts} requests for the puts"));
        Assert.True(proxy.Requests > 100, proxy.Summary());
        Assert.True(proxy.TransientFaults >= proxy.Requests / 20, "fewer faults than expected at 10%: " + proxy.Summary());
    }

    [Fact]
    public async Task A_permanent_fault_fails_the_put_cleanly_and_stores_nothing()
    {
        await using var proxy = FaultProxy.Start(new Uri(server.Server["S3_ENDPOINT"]));
        var (store, s3) = CreateRetryingStore(proxy, maxRetries: 2);
        using var disposeS3 = s3;
        proxy.Permanent = r => r.Method is "PUT" or "POST" && r.Path.Contains("/wal_005/", StringComparison.Ordinal);

        var small = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/small", new MemoryStream(new byte[1000]), cancellationToken: Token));
        var large = await Assert.ThrowsAsync<ObjectStoreException>(() =>
            store.PutAsync("wal_005/large", new UnseekableStream(new MemoryStream(new byte[11 << 20])), cancellationToken: Token));

        output.WriteLine(proxy.Summary());
        Assert.All([small, large], ex =>
        {
            Assert.Equal(ObjectStoreErrorKind.Unavailable, ex.Kind);
            Assert.Contains("InternalError", ex.Message, StringComparison.Ordinal);
        });
        proxy.Permanent = null;
        Assert.Null(await store.GetInfoAsync("wal_005/small", Token));
        Assert.Null(await store.GetInfoAsync("wal_005/large", Token));
        Assert.Empty(await store.ListAsync("", Token).ToListAsync(Token));
        Assert.True(proxy.Faults.GetValueOrDefault(ProxyFault.Permanent) >= 3 * 2, proxy.Summary()); // every attempt of both puts
    }
}
