using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PgArchive.IO;

/// <summary>
/// fsync for directories, which .NET has no API for (a <see cref="FileStream"/> cannot open a directory), an
/// atomic create-if-absent (link(2)), early writeback (sync_file_range(2)) and a flush of a whole file system
/// (syncfs(2)). Hand-written on purpose: a few libc calls, no library offers them. Needed so that a rename is
/// durable before wal-push reports a segment archived, two concurrent pushes of one segment never both succeed,
/// and a restore is on disk before backup-fetch reports it done.
/// </summary>
internal static partial class Durability
{
    private const int ReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC: the same value on x86-64 and arm64

    /// <summary>Flushes the directory entry changes (creates, renames) of <paramref name="directory"/> to disk.</summary>
    public static void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return; // NTFS journals directory entries; there is no directory handle to flush
        }

        OnDirectory(directory, Fsync, "fsync of directory");
    }

    /// <summary>Creates <paramref name="directory"/> and any missing parents, flushing each new entry to disk.</summary>
    public static void CreateDirectoryDurably(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (Directory.Exists(full))
        {
            return;
        }

        var parent = Path.GetDirectoryName(full);
        if (parent is not null)
        {
            CreateDirectoryDurably(parent);
        }

        Directory.CreateDirectory(full);
        if (parent is not null)
        {
            FlushDirectory(parent);
        }
    }

    private const uint SyncFileRangeWrite = 2; // SYNC_FILE_RANGE_WRITE: start writeback of the range's dirty pages, do not wait

    /// <summary>
    /// Asks the kernel to start writing a just-written range of <paramref name="file"/> to disk now, without waiting
    /// for it (Linux; a no-op elsewhere). A hint, as PostgreSQL's own <c>*_flush_after</c>: the disk works while
    /// the rest is still being written, so the dirty pages never pile up and a final flush finds little left to do.
    /// </summary>
    public static void StartWriteback(SafeFileHandle file, long offset, long count)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = SyncFileRange(file, offset, count, SyncFileRangeWrite); // a hint: a failure here shows in the flush that follows
        }
    }

    /// <summary>
    /// Flushes to disk every file and directory written under <paramref name="directory"/>: on Linux, the whole file
    /// system that holds it, in one syncfs(2), which also reports a writeback error met by any of them; elsewhere
    /// each file and directory of the tree in turn.
    /// </summary>
    public static void FlushTree(string directory)
    {
        if (OperatingSystem.IsLinux())
        {
            OnDirectory(directory, SyncFs, "Flushing to disk the file system of");
            return;
        }

        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Write);
            RandomAccess.FlushToDisk(handle);
        }

        foreach (var subdirectory in Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories))
        {
            FlushDirectory(subdirectory);
        }

        FlushDirectory(directory);
    }

    /// <summary>Opens <paramref name="directory"/>, runs <paramref name="call"/> (a libc call) on its descriptor and closes it; a failure names <paramref name="action"/>, the directory and the errno.</summary>
    private static void OnDirectory(string directory, Func<int, int> call, string action)
    {
        var fd = Open(directory, ReadOnlyCloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (call(fd) != 0)
            {
                throw new IOException($"{action} '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private const int ErrnoExists = 17; // EEXIST, the same on Linux, macOS and FreeBSD

    /// <summary>
    /// Gives <paramref name="source"/> the additional name <paramref name="destination"/> only if that name is free:
    /// link(2), which the kernel performs atomically, where <see cref="File.Move(string, string, bool)"/> checks and
    /// renames in two steps. Returns false when <paramref name="destination"/> exists.
    /// </summary>
    public static bool TryCreateLink(string source, string destination)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            try
            {
                File.Copy(source, destination, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(destination))
            {
                return false;
            }
        }

        if (Link(source, destination) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == ErrnoExists
            ? false
            : throw new IOException($"Cannot link '{destination}' (errno {errno}).");
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long count, uint flags);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int SyncFs(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
