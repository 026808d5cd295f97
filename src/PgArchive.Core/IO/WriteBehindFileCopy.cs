using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace PgArchive.IO;

/// <summary>
/// Copies a stream into a file with the file's write running while the next chunk is read: the reading side
/// (download, decryption, decompression, checksums) and the kernel's side (page-cache copy) of a restore work on
/// two threads instead of taking turns on one. One write is in flight at a time, so memory stays at two chunks
/// per copy whatever the file's size. Optionally, each chunk's writeback to disk is started as soon as it is
/// written (<see cref="Durability.StartWriteback"/>), for a copy that is flushed at the end.
/// </summary>
internal static class WriteBehindFileCopy
{
    /// <summary>The size of each write; large, so a 1 GiB relation segment takes a thousand writes, not sixteen thousand.</summary>
    public const int ChunkSize = 1 << 20;

    /// <summary>
    /// Copies the rest of <paramref name="source"/> into <paramref name="file"/> from offset 0; returns the bytes
    /// written. <paramref name="startWriteback"/> starts each chunk's writeback to disk once it is written.
    /// </summary>
    public static async Task<long> CopyAsync(Stream source, SafeFileHandle file, bool startWriteback, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(file);
        var filling = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var writing = ArrayPool<byte>.Shared.Rent(ChunkSize);
        Task pending = Task.CompletedTask;
        long offset = 0;
        try
        {
            while (true)
            {
                var read = await source.ReadAtLeastAsync(filling.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, cancellationToken)
                    .ConfigureAwait(false);
                await pending.ConfigureAwait(false); // the previous chunk is written: its buffer may be filled again
                if (read == 0)
                {
                    break;
                }

                pending = WriteChunkAsync(file, filling.AsMemory(0, read), offset, startWriteback, cancellationToken);
                offset += read;
                (filling, writing) = (writing, filling);
                if (read < ChunkSize)
                {
                    break; // the source ended inside this chunk
                }
            }

            await pending.ConfigureAwait(false);
            return offset;
        }
        finally
        {
            // A read that failed with a write still in flight: the buffer goes back to the pool only once that write is over.
            if (!pending.IsCompleted)
            {
                try
                {
                    await pending.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or UnauthorizedAccessException)
                {
                    // The read's failure is the one the caller sees.
                }
            }

            ArrayPool<byte>.Shared.Return(filling);
            ArrayPool<byte>.Shared.Return(writing);
        }
    }

    private static async Task WriteChunkAsync(SafeFileHandle file, ReadOnlyMemory<byte> chunk, long offset, bool startWriteback, CancellationToken cancellationToken)
    {
        await RandomAccess.WriteAsync(file, chunk, offset, cancellationToken).ConfigureAwait(false);
        if (startWriteback)
        {
            Durability.StartWriteback(file, offset, chunk.Length);
        }
    }
}
