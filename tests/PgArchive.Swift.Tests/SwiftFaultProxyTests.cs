using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The cut-download contract for the Swift store against the all-in-one through <see cref="FaultProxy"/> (the storage
/// URL points at the proxy, auth goes direct), with 2 MiB segments: plain objects and Static Large Objects alike.
/// </summary>
public sealed class SwiftFaultProxyTests(SwiftSaioFixture server) : CutDownloadConformanceTests
{
    /// <summary>A Static Large Object of 3 segments.</summary>
    private const int LargeObjectSize = (5 << 20) + 17;

    /// <summary>One PUT: a plain object, under the segment size.</summary>
    protected override int ObjectSize => (1 << 20) + 17;

    protected override ByteRange CutRange => new(12345, 512 << 10);

    protected override CutCount CutsWhenCutEveryTime => CutCount.Exactly(3); // the first GET and MaxRetries (2) resumed ones

    protected override FaultProxy StartProxy() => FaultProxy.Start(new Uri(new Uri(server.StorageUrl).GetLeftPart(UriPartial.Authority)));

    protected override IObjectStore CreateStore(FaultProxy proxy)
    {
        var options = Options();
        options.StorageUrl = new Uri(proxy.Endpoint, new Uri(server.StorageUrl).AbsolutePath).ToString();
        return new SwiftObjectStore(options);
    }

    protected override IObjectStore CreateWriter(FaultProxy proxy) => new SwiftObjectStore(Options());

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // across the first two segments
    public Task A_static_large_object_download_cut_short_once_is_resumed_with_identical_bytes(bool ranged) =>
        AssertCutOnceIsResumedAsync(LargeObjectSize, ranged ? new ByteRange(12345, 2 << 20) : null);

    [Fact]
    public Task A_static_large_object_replaced_before_its_download_resumes_fails_instead_of_stitching() =>
        AssertReplacedObjectFailsAsync(LargeObjectSize, range: null);

    private SwiftObjectStoreOptions Options()
    {
        var options = server.Options(Prefix);
        options.SegmentSize = 2 << 20;
        return options;
    }
}
