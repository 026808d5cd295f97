using PgArchive.Storage.Testing;

namespace PgArchive.Storage;

/// <summary>
/// A 1 GiB object of unknown length streamed up and back with the default part size and concurrency, while the
/// managed heap is sampled: its live objects must stay under 100 MiB (the parts in flight, 3 × 20 MiB, and the SDK's own). Runs alone, so other tests' allocations don't count.
/// </summary>
[Collection(NotInParallel.Name)]
public sealed class S3LargeObjectTests(S3rverFixture server)
{
    [Fact]
    public async Task One_GiB_streams_through_with_live_managed_memory_under_100_MiB()
    {
        using var store = new S3ObjectStore(server.Options());

        var figures = await LargeObjectRun.RunAsync(store, "basebackups_005/large.tar", 1L << 30, TestContext.Current.CancellationToken);
        TestContext.Current.SendDiagnosticMessage($"S3 ({server.Name}) {figures}");
        TestContext.Current.TestOutputHelper?.WriteLine($"S3 ({server.Name}) {figures}");
        await store.DeleteAsync(["basebackups_005/large.tar"], TestContext.Current.CancellationToken);

        Assert.InRange(figures.PeakLiveBytes, 0, 100L << 20);
    }
}
