using System.Security.Cryptography;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The Azure store (the real SDK) against Azurite through <see cref="FaultProxy"/>: a download cut off mid-body is
/// resumed (the SDK's RetriableStream: a ranged GET from the byte reached, If-Match on the ETag) and its bytes are
/// intact; a download cut every time fails as <see cref="ObjectStoreErrorKind.Unavailable"/>, never as a raw IOException.
/// </summary>
public sealed class AzureBlobFaultProxyTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly string _prefix = "cut/" + Guid.NewGuid().ToString("N");

    private AzureBlobObjectStore NewStore(FaultProxy proxy)
    {
        var options = azurite.Options(_prefix);
        options.ConnectionString = null;
        options.AccountName = azurite.AccountName;
        options.AccountKey = azurite.AccountKey;
        options.ServiceUri = new Uri(proxy.Endpoint, azurite.BlobEndpoint.AbsolutePath);
        return new AzureBlobObjectStore(AzureBlobObjectStore.CreateContainerClient(options), options);
    }

    [Fact]
    public async Task A_download_cut_short_once_is_resumed_with_identical_bytes()
    {
        await using var proxy = FaultProxy.Start(azurite.BlobEndpoint);
        var store = NewStore(proxy);
        var bytes = RandomNumberGenerator.GetBytes((3 << 20) + 17);
        await store.PutAsync("wal_005/cut", new MemoryStream(bytes), cancellationToken: Token);

        // The GET of the body is cut in half; the resumed ones are not.
        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientRate = 1;
        var read = await store.OpenReadAsync("wal_005/cut", cancellationToken: Token);
        proxy.TransientRate = 0;
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
    public async Task A_download_cut_short_every_time_fails_as_unavailable()
    {
        await using var proxy = FaultProxy.Start(azurite.BlobEndpoint);
        var store = NewStore(proxy);
        await store.PutAsync("wal_005/always-cut", new MemoryStream(RandomNumberGenerator.GetBytes((2 << 20) + 5)), cancellationToken: Token);
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
        Assert.True(proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody) >= 2, proxy.Summary());
    }
}
