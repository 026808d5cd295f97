using System.Globalization;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>Tests that measure the whole process: they run alone, after the others.</summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;

/// <summary>A 1 GiB object of unknown length, with the default options (16 MiB resumable chunks), against the emulator.</summary>
[Collection(nameof(RunsAlone))]
public sealed class GcsLargeObjectTests(GcsEmulatorFixture gcs)
{
    private const long Size = 1L << 30;
    private const long Limit = 100L << 20;

    [Fact]
    public async Task One_GiB_streams_up_and_down_with_managed_memory_under_100_MiB()
    {
        var token = TestContext.Current.CancellationToken;
        var options = gcs.Options("large/" + Guid.NewGuid().ToString("N"));
        var store = new GcsObjectStore(GcsObjectStore.CreateClient(options), options);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        using var sampler = new ManagedMemorySampler();
        sampler.Reset();
        var upload = await ManagedMemorySampler.TimeAsync(() => store.PutAsync("1gib", new PatternStream(Size), cancellationToken: token));
        var uploadPeak = sampler.Peak;

        sampler.Reset();
        var matches = false;
        var download = await ManagedMemorySampler.TimeAsync(async () =>
        {
            await using var stream = await store.OpenReadAsync("1gib", cancellationToken: token);
            matches = await PatternStream.MatchesAsync(stream, Size, token);
        });
        var downloadPeak = sampler.Peak;
        await store.DeleteAsync(["1gib"], token);

        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"GCS (emulator) 1 GiB: upload {ManagedMemorySampler.MegabytesPerSecond(Size, upload):F1} MB/s ({upload.TotalSeconds:F1} s, peak managed {ManagedMemorySampler.Mib(uploadPeak):F1} MiB), "
            + $"download {ManagedMemorySampler.MegabytesPerSecond(Size, download):F1} MB/s ({download.TotalSeconds:F1} s, peak managed {ManagedMemorySampler.Mib(downloadPeak):F1} MiB), "
            + $"baseline {ManagedMemorySampler.Mib(baseline):F1} MiB"));
        Assert.True(matches, "The 1 GiB object read back differs from what was written.");
        Assert.True(uploadPeak < Limit, $"Managed memory peaked at {ManagedMemorySampler.Mib(uploadPeak):F1} MiB during the upload.");
        Assert.True(downloadPeak < Limit, $"Managed memory peaked at {ManagedMemorySampler.Mib(downloadPeak):F1} MiB during the download.");
    }
}
