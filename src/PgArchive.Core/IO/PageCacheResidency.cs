using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PgArchive.IO;

/// <summary>
/// Which pages of a file the page cache holds, asked without touching them (Linux): mincore(2) over a mapping of the
/// range that is never read, so neither a read of the disk nor readahead is started, and a file cut meanwhile cannot fault.
/// </summary>
internal static partial class PageCacheResidency
{
    /// <summary>
    /// Fills <paramref name="resident"/> with one byte per page of the <paramref name="length"/> bytes of
    /// <paramref name="file"/> from <paramref name="offset"/> (a multiple of the page size), bit 0 set where the page
    /// cache holds the page; false when the kernel cannot tell (not Linux, a mapping refused).
    /// </summary>
    public static unsafe bool TryGet(SafeFileHandle file, long offset, long length, Span<byte> resident)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(resident.Length, (int)((length + Environment.SystemPageSize - 1) / Environment.SystemPageSize));
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var mapping = Map(null, (nuint)length, ProtRead, MapShared, (int)file.DangerousGetHandle(), offset);
        if (mapping == MapFailed)
        {
            return false;
        }

        try
        {
            fixed (byte* vector = resident)
            {
                return Residents(mapping, (nuint)length, vector) == 0;
            }
        }
        finally
        {
            _ = Unmap(mapping, (nuint)length);
        }
    }

    private const int ProtRead = 1;
    private const int MapShared = 1;
    private static readonly unsafe void* MapFailed = (void*)-1;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static unsafe partial void* Map(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static unsafe partial int Residents(void* address, nuint length, byte* vector);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static unsafe partial int Unmap(void* address, nuint length);
}
