using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The GCS store (the real SDK) against the emulator through <see cref="FaultProxy"/>: a download cut off mid-body is
/// resumed with identical bytes (full reads and ranges); a download cut every time fails as
/// <see cref="ObjectStoreErrorKind.Unavailable"/>, never as a raw IOException.
/// </summary>
public sealed class GcsFaultProxyTests(GcsEmulatorFixture gcs, ITestOutputHelper output)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly string _prefix = "cut/" + Guid.NewGuid().ToString("N");

    private readonly EventLog _log = new();

    private GcsObjectStore NewStore(string emulatorHost)
    {
        var options = gcs.Options(_prefix);
        options.EmulatorHost = emulatorHost;
        return new GcsObjectStore(GcsObjectStore.CreateClient(options), options, _log);
    }

    private async Task<(FaultProxy Proxy, GcsObjectStore Store, byte[] Bytes)> PutAsync(string key, int size)
    {
        var bytes = RandomNumberGenerator.GetBytes(size);
        await NewStore(gcs.EmulatorHost).PutAsync(key, new MemoryStream(bytes), cancellationToken: Token);
        var proxy = FaultProxy.Start(new Uri(gcs.Endpoint));
        return (proxy, NewStore(proxy.Endpoint.Authority), bytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_download_cut_short_once_is_resumed_with_identical_bytes(bool ranged)
    {
        // Large enough that the first bytes are read before the cut (at half the body): the read resumes mid-way.
        var (proxy, store, bytes) = await PutAsync("wal_005/cut", (12 << 20) + 17);
        await using var disposeProxy = proxy;
        var range = ranged ? new ByteRange(12345, 10 << 20) : (ByteRange?)null;

        // The first download of the body is cut in half (not the GET of the metadata a range read starts with); the
        // resumed ones are not.
        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientFilter = r => r.Target.Contains("alt=media", StringComparison.Ordinal);
        proxy.TransientLimit = 1;
        proxy.TransientRate = 1;
        var read = await store.OpenReadAsync("wal_005/cut", range, Token);
        using var copy = new MemoryStream();
        await using (read)
        {
            await read.CopyToAsync(copy, Token);
        }

        output.WriteLine(proxy.Summary() + "; " + string.Join(", ", _log.Events));
        Assert.Equal(1, proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody));
        Assert.Equal(["GcsReadResumed"], _log.Events);
        var expected = ranged ? bytes.AsSpan(12345, 10 << 20) : bytes;
        Assert.Equal(expected.Length, copy.Length);
        Assert.True(expected.SequenceEqual(copy.ToArray()));
    }

    [Fact]
    public async Task A_download_cut_short_every_time_fails_as_unavailable_after_the_retries()
    {
        var (proxy, store, _) = await PutAsync("wal_005/always-cut", (1 << 20) + 5);
        await using var disposeProxy = proxy;
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_download_whose_object_is_replaced_before_it_resumes_fails_instead_of_stitching(bool ranged)
    {
        var (proxy, store, bytes) = await PutAsync("wal_005/replaced", (12 << 20) + 17);
        await using var disposeProxy = proxy;
        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientFilter = r => r.Target.Contains("alt=media", StringComparison.Ordinal);
        proxy.TransientLimit = 1;
        proxy.TransientRate = 1;

        var read = await store.OpenReadAsync("wal_005/replaced", ranged ? new ByteRange(12345, 10 << 20) : null, Token);
        await NewStore(gcs.EmulatorHost).PutAsync("wal_005/replaced", new MemoryStream(RandomNumberGenerator.GetBytes(bytes.Length)), cancellationToken: Token);
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

    /// <summary>The names of the events the store logged.</summary>
    private sealed class EventLog : ILogger<GcsObjectStore>
    {
        private readonly ConcurrentQueue<string> _events = new();

        public IReadOnlyList<string> Events => [.. _events];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _events.Enqueue(eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
