using PgArchive.IO;

namespace PgArchive.Backups;

/// <summary>
/// Keeps the disk busy ahead of a tar partition's reader: before each file is read, the kernel is asked to start
/// reading the files that follow it (<see cref="ReadAheadHint"/>), up to <see cref="MaxFiles"/> files and
/// <see cref="MaxBytes"/> ahead. A partition of many small files (catalogs, small tables, their free space and
/// visibility maps) is otherwise read one file at a time, each read waiting for the disk, which leaves it idle between
/// them; hinted, the disk works on many at once and the reads find them cached. A large file is hinted only at its
/// start: the kernel's own readahead takes over once it is read in order.
/// </summary>
/// <remarks>
/// Only files read whole through the page cache are hinted: not the files a delta stores as increments (only their
/// changed blocks are read), not those read with O_DIRECT. The hints read what the backup reads anyway, a little
/// earlier, so <c>WALG_DISK_RATE_LIMIT</c> turns them off (it paces reads, and a hint is a read it cannot pace).
/// </remarks>
internal sealed class PartitionReadAhead(IReadOnlyList<DataDirectoryEntry> entries, Func<DataDirectoryEntry, bool> readWhole)
{
    /// <summary>At most this many files ahead of the one being read are hinted.</summary>
    public const int MaxFiles = 64;

    /// <summary>At most this many bytes ahead of the one being read are hinted.</summary>
    public const long MaxBytes = 8 << 20;

    /// <summary>What is hinted of a large file: its start.</summary>
    public const long MaxBytesPerFile = 1 << 20;

    private readonly Queue<long> _ahead = new();
    private int _next;
    private long _bytesAhead;

    /// <summary>How many hints were given so far.</summary>
    public int Hinted { get; private set; }

    /// <summary>Call before entry <paramref name="index"/> is read: it leaves the window, the files after it fill it.</summary>
    public void Before(int index)
    {
        // The window holds hints for entries index+1 .. _next-1; entries up to index have been or are being read.
        while (_ahead.Count > 0 && _next - _ahead.Count <= index)
        {
            _bytesAhead -= _ahead.Dequeue();
        }

        _next = Math.Max(_next, index + 1);
        while (_next < entries.Count && _ahead.Count < MaxFiles && _bytesAhead < MaxBytes)
        {
            var entry = entries[_next++];
            var length = entry.IsDirectory || entry.Size == 0 || !readWhole(entry) ? 0 : Math.Min(entry.Size, MaxBytesPerFile);
            if (length > 0 && ReadAheadHint.Give(entry.FullPath, length))
            {
                Hinted++;
            }

            _ahead.Enqueue(length);
            _bytesAhead += length;
        }
    }
}
