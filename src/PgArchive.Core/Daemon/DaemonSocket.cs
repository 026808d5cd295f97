using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PgArchive.Daemon;

/// <summary>
/// The daemon's Unix domain socket file: refuses a path that holds something other than a socket, and a socket another
/// daemon still answers on; replaces a stale one (nobody listening, left by a killed daemon); creates the new one 0600
/// (bound under a temporary name, narrowed, then renamed into place, so it is never reachable with a wider mode).
/// </summary>
internal static partial class DaemonSocket
{
    /// <summary>The longest socket path Linux takes (sun_path is 108 bytes, with its terminating NUL).</summary>
    public const int MaxPathBytes = 107;

    /// <summary>Binds and listens on <paramref name="path"/> with a backlog of <paramref name="backlog"/>.</summary>
    public static async Task<Socket> ListenAsync(string path, int backlog, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new PgArchiveConfigurationException($"Daemon socket path '{full}' is a directory, not a socket: name a socket file (e.g. /run/postgresql/pgarchive.sock).");
        }

        if (File.Exists(full))
        {
            if (!IsSocket(full))
            {
                throw new PgArchiveConfigurationException($"Daemon socket path '{full}' exists and is not a socket: remove it or name another path.");
            }

            if (await AnswersAsync(full, cancellationToken).ConfigureAwait(false))
            {
                throw new PgArchiveException($"Daemon socket '{full}' is in use: another daemon answers on it; stop it first or name another path.");
            }
        }

        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".pgarchive-{Environment.ProcessId}.sock");
        if (System.Text.Encoding.UTF8.GetByteCount(temporary) > MaxPathBytes)
        {
            temporary = full; // no room for the temporary name: bound in place, narrowed right after
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            File.Delete(temporary); // ours from an earlier run of this process id, or the stale socket itself
            socket.Bind(new UnixDomainSocketEndPoint(temporary));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            socket.Listen(backlog);
            if (!ReferenceEquals(temporary, full))
            {
                File.Move(temporary, full, overwrite: true); // rename(2): a stale socket is replaced in one step
            }

            return socket;
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            if (!ReferenceEquals(temporary, full))
            {
                File.Delete(temporary);
            }

            throw new PgArchiveException($"Cannot listen on daemon socket '{full}': {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Removes the socket file at <paramref name="path"/> if it still is one.</summary>
    public static void Remove(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full) && IsSocket(full))
        {
            File.Delete(full);
        }
    }

    /// <summary>True when something accepts a connection on the socket file at <paramref name="path"/>.</summary>
    private static async Task<bool> AnswersAsync(string path, CancellationToken cancellationToken)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return true; // a full backlog: someone listens
        }
    }

    /// <summary>True when <paramref name="path"/> (not followed if a symbolic link) is a socket, by statx(2)'s file type.</summary>
    internal static bool IsSocket(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[256]; // struct statx
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            return false;
        }

        var mode = MemoryMarshal.Read<ushort>(buffer.Slice(StatxModeOffset, 2)); // native byte order
        return (mode & FileTypeMask) == SocketFileType;
    }

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int StatxModeOffset = 28; // stx_mask, stx_blksize (u32 each), stx_attributes (u64), stx_nlink, stx_uid, stx_gid (u32 each)
    private const int FileTypeMask = 0xF000;
    private const int SocketFileType = 0xC000;

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, ref byte buffer);
}
