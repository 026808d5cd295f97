using System.Diagnostics;
using System.Globalization;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage.Testing;

/// <summary>What a large streamed upload and download cost: throughput and the managed heap's peak.</summary>
internal sealed record LargeObjectFigures(long Size, TimeSpan Upload, TimeSpan Download, long PeakManagedBytes, long BaselineManagedBytes)
{
    public double UploadMBps => Size / 1e6 / Upload.TotalSeconds;
    public double DownloadMBps => Size / 1e6 / Download.TotalSeconds;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Size >> 20} MiB: upload {Upload.TotalSeconds:F1} s = {UploadMBps:F0} MB/s, download+verify {Download.TotalSeconds:F1} s = {DownloadMBps:F0} MB/s, " +
        $"peak managed heap {PeakManagedBytes / 1048576.0:F1} MiB (baseline {BaselineManagedBytes / 1048576.0:F1} MiB)");
}

/// <summary>
/// Streams a generated object of unknown length through a store and back while sampling
/// <see cref="GC.GetTotalMemory(bool)"/> every 20 ms: the peak includes garbage not yet collected, so it is an
/// upper bound of what the upload held.
/// </summary>
internal static class LargeObjectRun
{
    public static async Task<LargeObjectFigures> RunAsync(IObjectStore store, string key, long size, CancellationToken cancellationToken)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = baseline;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var now = GC.GetTotalMemory(forceFullCollection: false);
                if (now > Interlocked.Read(ref peak))
                {
                    Interlocked.Exchange(ref peak, now);
                }

                try
                {
                    await Task.Delay(20, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }, CancellationToken.None);

        TimeSpan upload, download;
        try
        {
            var watch = Stopwatch.StartNew();
            await store.PutAsync(key, new PatternStream(size), PutMode.Overwrite, cancellationToken);
            upload = watch.Elapsed;

            var info = await store.GetInfoAsync(key, cancellationToken);
            Assert.Equal(size, info?.Size);

            watch.Restart();
            await using (var stream = await store.OpenReadAsync(key, null, cancellationToken))
            {
                Assert.True(await PatternStream.MatchesAsync(stream, size, cancellationToken), "The large object read back differs from what was written.");
            }

            download = watch.Elapsed;
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
        }

        return new LargeObjectFigures(size, upload, download, Interlocked.Read(ref peak), baseline);
    }
}
