using System.IO.Hashing;

namespace PgArchive.Backups;

/// <summary>
/// Passes a file's bytes to the tar writer and, on the way, hashes them (XXH128) and hands them to the page
/// checksum check: one read of the file serves the backup, its recorded checksum and the page verification.
/// Seeking and length are the inner stream's, so the tar writer still learns the size up front.
/// </summary>
internal sealed class InspectingReadStream(Stream inner, FilePageCheck? pageCheck) : Stream
{
    private readonly XxHash128 _hash = new();

    /// <summary>The XXH128 of everything read so far, as lower-case hex of its canonical (big-endian) bytes.</summary>
    public string HashHex => Convert.ToHexStringLower(_hash.GetCurrentHash());

    public override bool CanRead => true;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Observe(buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Observe(buffer.Span[..read]);
        return read;
    }

    /// <summary>
    /// Copies the rest of the file to <paramref name="destination"/>; when the destination lends its buffer (the LZ4
    /// encoder's block), the file is read straight into it, in reads as large as the block has room for.
    /// </summary>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination is not IO.IWriteBufferLender { CanLend: true } lender)
        {
            await base.CopyToAsync(destination, bufferSize, cancellationToken).ConfigureAwait(false);
            return;
        }

        while (true)
        {
            var buffer = lender.GetWriteBuffer();
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return;
            }

            Observe(buffer.Span[..read]);
            await lender.CommitAsync(read, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Observe(ReadOnlySpan<byte> data)
    {
        _hash.Append(data);
        pageCheck?.Append(data);
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
