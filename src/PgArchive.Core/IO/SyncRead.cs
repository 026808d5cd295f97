using System.Buffers;

namespace PgArchive.IO;

/// <summary>
/// The synchronous <c>Read(Span)</c> of a stream whose reading is one core taking <c>useAsync</c>: the core runs with
/// <c>useAsync: false</c> (it then completes synchronously) into a pooled buffer, copied to the caller's span.
/// </summary>
internal static class SyncRead
{
    public static int Run(Span<byte> buffer, Func<Memory<byte>, ValueTask<int>> readSynchronously)
    {
        var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var read = readSynchronously(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, read).CopyTo(buffer);
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
