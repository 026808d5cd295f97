namespace PgArchive.IO;

/// <summary>
/// A read-only stream whose reads each take a slot of a shared semaphore: it bounds how many files are read
/// from disk at once (WALG_UPLOAD_DISK_CONCURRENCY) while what is done with the bytes (compression, upload)
/// runs unbounded by it.
/// </summary>
internal sealed class GatedReadStream(Stream inner, SemaphoreSlim gate) : ReadOnlyWrapperStream(inner)
{
    public override int Read(Span<byte> buffer)
    {
        gate.Wait();
        try
        {
            return Inner.Read(buffer);
        }
        finally
        {
            gate.Release();
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }
}
