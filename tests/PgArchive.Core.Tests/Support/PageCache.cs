using System.Runtime.InteropServices;

namespace PgArchive.Support;

/// <summary>The page cache as the kernel reports it for one file (Linux): drop a file's pages, count those it holds.</summary>
internal static partial class PageCache
{
    private const int DontNeed = 4; // POSIX_FADV_DONTNEED

    /// <summary>Writes <paramref name="path"/> back and drops its pages from the page cache (clean pages go at once).</summary>
    public static void Evict(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.FlushToDisk(file);
        Assert.Equal(0, Advise((int)file.DangerousGetHandle(), 0, 0, DontNeed));
    }

    /// <summary>How many of the pages of <paramref name="path"/> from <paramref name="offset"/> for <paramref name="length"/> bytes the page cache holds (mincore(2), nothing read).</summary>
    public static int ResidentPages(string path, long offset, long length)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var vector = new byte[(length + Environment.SystemPageSize - 1) / Environment.SystemPageSize];
        Assert.True(PgArchive.IO.PageCacheResidency.TryGet(file, offset, length, vector), "mincore could not tell");
        return vector.Count(b => (b & 1) != 0);
    }

    /// <summary>Waits (up to 10 s) until the page cache holds every page of the range; false if it never did.</summary>
    public static async Task<bool> WaitUntilResidentAsync(string path, long offset, long length, CancellationToken cancellationToken)
    {
        var pages = (int)((length + Environment.SystemPageSize - 1) / Environment.SystemPageSize);
        for (var waited = 0; waited < 10_000; waited += 20)
        {
            if (ResidentPages(path, offset, length) == pages)
            {
                return true;
            }

            await Task.Delay(20, cancellationToken);
        }

        return false;
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int Advise(int fd, long offset, long length, int advice);
}
