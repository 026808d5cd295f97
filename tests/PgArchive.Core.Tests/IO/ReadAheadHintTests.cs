using PgArchive.Support;

namespace PgArchive.IO;

/// <summary>
/// Read-ahead hints (posix_fadvise WILLNEED), checked against the kernel's page cache: a file is evicted, hinted, and
/// the pages the hint names must arrive in the cache with nobody reading them, and only those.
/// </summary>
public sealed class ReadAheadHintTests : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-readahead-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A file of <paramref name="length"/> bytes out of the page cache; skips where the filesystem keeps files in memory (tmpfs).</summary>
    private string Evicted(string name, int length)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "posix_fadvise and mincore are Linux's here");
        var path = Path.Combine(_root, name);
        File.WriteAllBytes(path, Codecs.Data(length, seed: length));
        PageCache.Evict(path);
        Assert.SkipWhen(PageCache.ResidentPages(path, 0, length) > 0, $"{_root}'s filesystem keeps evicted pages in memory");
        return path;
    }

    [Fact]
    public async Task A_hinted_range_reaches_the_page_cache_without_being_read()
    {
        var path = Evicted("file", 4 * MiB);

        Assert.True(ReadAheadHint.Give(path, 2 * MiB));

        Assert.True(await PageCache.WaitUntilResidentAsync(path, 0, 2 * MiB, Token), "the hinted range never reached the page cache");
        Assert.Equal(0, PageCache.ResidentPages(path, 3 * MiB, MiB));
    }

    [Fact]
    public void A_missing_file_gets_no_hint_and_no_error() =>
        Assert.False(ReadAheadHint.Give(Path.Combine(_root, "missing"), MiB));
}
