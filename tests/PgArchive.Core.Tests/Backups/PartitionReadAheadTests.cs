using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// backup-push hints the files a partition reads next: a window of at most 64 files and 8 MiB past the one being read,
/// files it does not read whole left out; checked against the page cache where it can be.
/// </summary>
public sealed class PartitionReadAheadTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-partition-readahead-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private List<DataDirectoryEntry> Files(int count, int size)
    {
        var entries = new List<DataDirectoryEntry>();
        for (var i = 0; i < count; i++)
        {
            var path = Path.Combine(_root, $"f{i}");
            File.WriteAllBytes(path, Codecs.Data(size, seed: i));
            entries.Add(new DataDirectoryEntry($"base/1/{i}", path, IsDirectory: false, size));
        }

        return entries;
    }

    [Fact]
    public void The_window_runs_ahead_of_the_reader_up_to_64_files_and_ends_with_the_partition()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "hints are Linux's");
        var entries = Files(100, 8192);
        var readAhead = new PartitionReadAhead(entries, _ => true);

        readAhead.Before(0);
        Assert.Equal(PartitionReadAhead.MaxFiles, readAhead.Hinted); // files 1..64

        readAhead.Before(1);
        Assert.Equal(PartitionReadAhead.MaxFiles + 1, readAhead.Hinted); // file 65 joins as file 1 leaves

        readAhead.Before(60);
        Assert.Equal(99, readAhead.Hinted); // every file after the first, each once

        readAhead.Before(99);
        Assert.Equal(99, readAhead.Hinted);
    }

    [Fact]
    public void The_window_holds_at_most_8_MiB_and_files_not_read_whole_are_not_hinted()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "hints are Linux's");
        var entries = Files(20, 1 << 20);
        entries.Insert(1, new DataDirectoryEntry("base/1", _root, IsDirectory: true, 0));
        var readAhead = new PartitionReadAhead(entries, e => e.TarPath != "base/1/3");

        readAhead.Before(0);

        Assert.Equal(8, readAhead.Hinted); // 8 MiB past file 0: files 1 to 9 but 3 (the directory and file 3 take no room)
    }

    [Fact]
    public async Task The_files_ahead_reach_the_page_cache_before_the_reader_gets_to_them()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "hints are Linux's");
        var entries = Files(10, 64 * 1024);
        foreach (var entry in entries)
        {
            PageCache.Evict(entry.FullPath);
        }

        Assert.SkipWhen(PageCache.ResidentPages(entries[5].FullPath, 0, 64 * 1024) > 0, $"{_root}'s filesystem keeps evicted pages in memory");

        new PartitionReadAhead(entries, _ => true).Before(0);

        foreach (var entry in entries.Skip(1))
        {
            Assert.True(await PageCache.WaitUntilResidentAsync(entry.FullPath, 0, entry.Size, Token), $"{entry.TarPath} never reached the page cache");
        }

        Assert.Equal(0, PageCache.ResidentPages(entries[0].FullPath, 0, entries[0].Size));
    }
}
