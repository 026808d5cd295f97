using System.Diagnostics;
using System.Globalization;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage.Testing;

/// <summary>
/// What a large streamed upload and download cost: throughput, the peak of the managed heap's live objects (what the
/// store holds) and the peak of the heap including garbage not yet collected (which depends on when the GC runs).
/// </summary>
public sealed record LargeObjectFigures(long Size, TimeSpan Upload, TimeSpan Download, long PeakLiveBytes, long PeakHeapBytes, long BaselineManagedBytes)
{
    public double UploadMBps => Size / 1e6 / Upload.TotalSeconds;
    public double DownloadMBps => Size / 1e6 / Download.TotalSeconds;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Size >> 20} MiB: upload {Upload.TotalSeconds:F1} s = {UploadMBps:F0} MB/s, download+verify {Download.TotalSeconds:F1} s = {DownloadMBps:F0} MB/s, " +
        $"peak live managed memory {PeakLiveBytes / 1048576.0:F1} MiB, peak heap with garbage {PeakHeapBytes / 1048576.0:F1} MiB (baseline {BaselineManagedBytes / 1048576.0:F1} MiB)");
}

/// <summary>
/// Streams a generated object of unknown length through a store and back while sampling
/// <see cref="GC.GetTotalMemory(bool)"/>: every 20 ms without collecting (live objects and garbage alike), and
/// every 200 ms after a full collection (live objects only: the buffers the store holds).
/// </summary>
public static class LargeObjectRun
{
    public static async Task<LargeObjectFigures> RunAsync(IObjectStore store, string key, long size, CancellationToken cancellationToken)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = baseline, peakLive = baseline;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            for (var sample = 1; !stop.IsCancellationRequested; sample++)
            {
                var now = GC.GetTotalMemory(forceFullCollection: false);
                if (now > Interlocked.Read(ref peak))
                {
                    Interlocked.Exchange(ref peak, now);
                }

                if (sample % 10 == 0 && GC.GetTotalMemory(forceFullCollection: true) is var live && live > Interlocked.Read(ref peakLive))
                {
                    Interlocked.Exchange(ref peakLive, live);
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

        return new LargeObjectFigures(size, upload, download, Interlocked.Read(ref peakLive), Math.Max(Interlocked.Read(ref peak), Interlocked.Read(ref peakLive)), baseline);
    }
}
