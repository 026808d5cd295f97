using System.Runtime.InteropServices;

namespace PgArchive.IO;

/// <summary>
/// Asks the kernel to start reading part of a file into the page cache now (posix_fadvise POSIX_FADV_WILLNEED), without
/// waiting for it: a later read of that part then finds it cached or already on its way. Only a hint: off Linux, or
/// when the file cannot be opened or the filesystem ignores the advice, nothing happens, and the read that follows
/// goes to the disk as it would have.
/// </summary>
internal static partial class ReadAheadHint
{
    private const int WillNeed = 3; // POSIX_FADV_WILLNEED on Linux, every architecture

    /// <summary>Hints that the first <paramref name="length"/> bytes of <paramref name="path"/> will be read soon; false when no hint was given.</summary>
    public static bool Give(string path, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return false;
        }

        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return Advise((int)file.DangerousGetHandle(), 0, length, WillNeed) == 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // vanished or unreadable: the read itself reports it, in its own words
        }
    }

    /// <summary>posix_fadvise(2): returns 0 or the error number (it does not set errno).</summary>
    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int Advise(int fd, long offset, long length, int advice);
}
