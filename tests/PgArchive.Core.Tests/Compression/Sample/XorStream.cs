using System.Buffers;

namespace PgArchive.Compression.Sample;

/// <summary>XORs what passes through with one byte: write-only over a destination, or read-only over a source.</summary>
internal sealed class XorStream(Stream inner, byte key, bool writing, bool leaveOpen) : Stream
{
    public override bool CanRead => !writing;
    public override bool CanSeek => false;
    public override bool CanWrite => writing;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        EnsureReading();
        var read = inner.Read(buffer);
        Xor(buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureReading();
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Xor(buffer.Span[..read]);
        return read;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        EnsureWriting();
        var rented = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length, 1 << 16));
        try
        {
            while (!buffer.IsEmpty)
            {
                var piece = Xored(buffer, rented);
                inner.Write(rented, 0, piece);
                buffer = buffer[piece..];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureWriting();
        var rented = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length, 1 << 16));
        try
        {
            while (!buffer.IsEmpty)
            {
                var piece = Xored(buffer.Span, rented);
                await inner.WriteAsync(rented.AsMemory(0, piece), cancellationToken).ConfigureAwait(false);
                buffer = buffer[piece..];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Xored(ReadOnlySpan<byte> from, byte[] into)
    {
        var piece = Math.Min(from.Length, into.Length);
        from[..piece].CopyTo(into);
        Xor(into.AsSpan(0, piece));
        return piece;
    }

    private void Xor(Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] ^= key;
        }
    }

    private void EnsureReading()
    {
        if (writing)
        {
            throw new NotSupportedException("This stream is write-only.");
        }
    }

    private void EnsureWriting()
    {
        if (!writing)
        {
            throw new NotSupportedException("This stream is read-only.");
        }
    }
}
