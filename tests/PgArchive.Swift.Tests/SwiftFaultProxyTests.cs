using System.Security.Cryptography;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The Swift store against the all-in-one through <see cref="FaultProxy"/> (the storage URL points at the proxy, auth
/// goes direct): a download cut off mid-body is resumed with identical bytes, plain objects and Static Large Objects
/// alike; a download cut every time fails as <see cref="ObjectStoreErrorKind.Unavailable"/>, never as a raw IOException.
/// </summary>
public sealed class SwiftFaultProxyTests(SwiftSaioFixture server, ITestOutputHelper output)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private SwiftObjectStore NewStore(FaultProxy proxy, string? prefix = null)
    {
        var options = server.Options(prefix);
        options.SegmentSize = 2 << 20;
        options.StorageUrl = new Uri(proxy.Endpoint, new Uri(server.StorageUrl).AbsolutePath).ToString();
        return new SwiftObjectStore(options);
    }

    [Theory]
    [InlineData((1 << 20) + 17)] // one PUT
    [InlineData((5 << 20) + 17)] // a Static Large Object of 3 segments
    public async Task A_download_cut_short_once_is_resumed_with_identical_bytes(int size)
    {
        var upstream = new Uri(server.StorageUrl);
        await using var proxy = FaultProxy.Start(new Uri(upstream.GetLeftPart(UriPartial.Authority)));
        using var store = NewStore(proxy);
        var bytes = RandomNumberGenerator.GetBytes(size);
        await store.PutAsync("wal_005/cut", new MemoryStream(bytes), cancellationToken: Token);

        // The first GET of the body is cut in half; the resumed ones are not.
        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientLimit = 1;
        proxy.TransientRate = 1;
        var read = await store.OpenReadAsync("wal_005/cut", cancellationToken: Token);
        using var copy = new MemoryStream();
        await using (read)
        {
            await read.CopyToAsync(copy, Token);
        }

        output.WriteLine(proxy.Summary());
        Assert.Equal(1, proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody));
        Assert.Equal(bytes.Length, copy.Length);
        Assert.True(bytes.AsSpan().SequenceEqual(copy.ToArray()));
    }

    [Fact]
    public async Task A_ranged_download_cut_short_once_is_resumed_with_identical_bytes()
    {
        var upstream = new Uri(server.StorageUrl);
        await using var proxy = FaultProxy.Start(new Uri(upstream.GetLeftPart(UriPartial.Authority)));
        using var store = NewStore(proxy);
        var bytes = RandomNumberGenerator.GetBytes((3 << 20) + 17);
        await store.PutAsync("wal_005/cut-range", new MemoryStream(bytes), cancellationToken: Token);

        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientLimit = 1;
        proxy.TransientRate = 1;
        var read = await store.OpenReadAsync("wal_005/cut-range", new ByteRange(12345, 2 << 20), Token);
        using var copy = new MemoryStream();
        await using (read)
        {
            await read.CopyToAsync(copy, Token);
        }

        output.WriteLine(proxy.Summary());
        Assert.Equal(1, proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody));
        Assert.True(bytes.AsSpan(12345, 2 << 20).SequenceEqual(copy.ToArray()));
    }

    [Fact]
    public async Task A_download_cut_short_every_time_fails_as_unavailable_after_the_retries()
    {
        var upstream = new Uri(server.StorageUrl);
        await using var proxy = FaultProxy.Start(new Uri(upstream.GetLeftPart(UriPartial.Authority)));
        using var store = NewStore(proxy);
        await store.PutAsync("wal_005/always-cut", new MemoryStream(RandomNumberGenerator.GetBytes((1 << 20) + 5)), cancellationToken: Token);
        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientRate = 1;

        var error = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
        {
            await using var read = await store.OpenReadAsync("wal_005/always-cut", cancellationToken: Token);
            await read.CopyToAsync(Stream.Null, Token);
        });

        output.WriteLine(proxy.Summary() + "; " + error);
        Assert.Equal(ObjectStoreErrorKind.Unavailable, error.Kind);
        Assert.Equal("wal_005/always-cut", error.Key);
        Assert.Equal(3, proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody)); // the first GET and MaxRetries (2) resumed ones
    }

    [Theory]
    [InlineData((1 << 20) + 17)] // one PUT
    [InlineData((5 << 20) + 17)] // a Static Large Object of 3 segments
    public async Task A_download_whose_object_is_replaced_before_it_resumes_fails_instead_of_stitching(int size)
    {
        var upstream = new Uri(server.StorageUrl);
        await using var proxy = FaultProxy.Start(new Uri(upstream.GetLeftPart(UriPartial.Authority)));
        var prefix = "t-" + Guid.NewGuid().ToString("N");
        using var store = NewStore(proxy, prefix);
        var direct = server.Options(prefix);
        direct.SegmentSize = 2 << 20;
        using var writer = new SwiftObjectStore(direct);
        await writer.PutAsync("wal_005/replaced", new MemoryStream(RandomNumberGenerator.GetBytes(size)), cancellationToken: Token);

        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientLimit = 1;
        proxy.TransientRate = 1;
        var read = await store.OpenReadAsync("wal_005/replaced", cancellationToken: Token);
        await writer.PutAsync("wal_005/replaced", new MemoryStream(RandomNumberGenerator.GetBytes(size)), cancellationToken: Token);
        var error = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
        {
            await using (read)
            {
                await read.CopyToAsync(Stream.Null, Token);
            }
        });

        output.WriteLine(proxy.Summary() + "; " + error.Message);
        Assert.Equal(ObjectStoreErrorKind.Other, error.Kind);
        Assert.Contains("replaced", error.Message, StringComparison.Ordinal);
    }
}
