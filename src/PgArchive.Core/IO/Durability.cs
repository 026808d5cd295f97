using System.Runtime.InteropServices;

namespace PgArchive.IO;

/// <summary>
/// fsync for directories, which .NET has no API for (a <see cref="FileStream"/> cannot open a directory), and an
/// atomic create-if-absent (link(2)). Hand-written on purpose: four libc calls, no library offers them. Needed
/// so that a rename is durable before wal-push reports a segment archived, and two concurrent pushes of one
/// segment never both succeed.
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

        var fd = Open(directory, ReadOnlyCloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
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

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
