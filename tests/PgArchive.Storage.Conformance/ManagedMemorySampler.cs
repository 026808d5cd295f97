using System.Diagnostics;

namespace PgArchive.Storage;

/// <summary>
/// Samples the process's managed heap (<see cref="GC.GetTotalMemory(bool)"/> without forcing a collection: live and
/// not-yet-collected objects alike) every few milliseconds on a dedicated thread, and keeps the peak.
/// </summary>
public sealed class ManagedMemorySampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peak;

    public ManagedMemorySampler()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "managed-memory-sampler" };
        _thread.Start();
    }

    /// <summary>The highest managed heap size seen since the start or the last <see cref="Reset"/>.</summary>
    public long Peak => Math.Max(Interlocked.Read(ref _peak), GC.GetTotalMemory(false));

    /// <summary>Starts a new measurement.</summary>
    public void Reset() => Interlocked.Exchange(ref _peak, GC.GetTotalMemory(false));

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        while (!_stop)
        {
            var now = GC.GetTotalMemory(false);
            long seen;
            while (now > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen)
            {
            }

            Thread.Sleep(5);
        }
    }

    /// <summary>MiB, for reports.</summary>
    public static double Mib(long bytes) => bytes / 1048576.0;

    /// <summary>MB/s (10^6 bytes per second), for reports.</summary>
    public static double MegabytesPerSecond(long bytes, TimeSpan elapsed) => bytes / 1e6 / elapsed.TotalSeconds;

    /// <summary>Times <paramref name="action"/>.</summary>
    public static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        var watch = Stopwatch.StartNew();
        await action();
        return watch.Elapsed;
    }
}
