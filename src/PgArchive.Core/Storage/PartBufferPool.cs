using System.Collections.Concurrent;

namespace PgArchive.Storage;

/// <summary>
/// Part buffers of one fixed size for stores that upload in parts (S3 multipart parts, Swift SLO segments).
/// A returned buffer waits for the next part instead of going to the garbage collector, so the pool holds no more
/// buffers than were ever in use at once (concurrent uploads × parts in flight per upload). Dropping them instead
/// lets tens of MiB of large-object-heap garbage pile up per upload until a full collection, which is what a
/// process's peak memory then shows.
/// </summary>
internal sealed class PartBufferPool
{
    private readonly ConcurrentBag<byte[]> _idle = [];

    /// <summary>Creates a pool of buffers of <paramref name="bufferSize"/> bytes.</summary>
    public PartBufferPool(int bufferSize) =>
        BufferSize = bufferSize > 0 ? bufferSize : throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "A part buffer needs at least one byte.");

    /// <summary>The size of every buffer.</summary>
    public int BufferSize { get; }

    /// <summary>Buffers allocated so far: the largest number that were in use at once.</summary>
    public int Allocated => _allocated;

    private int _allocated;

    /// <summary>An idle buffer, or a new one (its content is undefined).</summary>
    public byte[] Rent()
    {
        if (_idle.TryTake(out var buffer))
        {
            return buffer;
        }

        Interlocked.Increment(ref _allocated);
        return GC.AllocateUninitializedArray<byte>(BufferSize);
    }

    /// <summary>Gives a buffer from <see cref="Rent"/> back for the next part.</summary>
    public void Return(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Length != BufferSize)
        {
            throw new ArgumentException($"The buffer has {buffer.Length} bytes; this pool's buffers have {BufferSize}.", nameof(buffer));
        }

        _idle.Add(buffer);
    }
}
