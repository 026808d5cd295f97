using System.IO.Hashing;

namespace PgArchive.IO;

/// <summary>
/// Forwards every call to an inner stream, counts the bytes that pass (and hashes them, when given a hash),
/// and disposes the inner stream only when asked to: the identity stage of a pipeline, its byte counter and
/// its checksum.
/// </summary>
internal sealed class PassThroughStream : Stream, IWriteBufferLender
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly NonCryptographicHashAlgorithm? _hash;

    private PassThroughStream(Stream inner, bool leaveOpen, NonCryptographicHashAlgorithm? hash)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
        _hash = hash;
    }

    /// <summary>Wraps <paramref name="inner"/>; every byte read or written is also appended to <paramref name="hash"/> when given.</summary>
    public static PassThroughStream Wrap(Stream inner, bool leaveOpen = false, NonCryptographicHashAlgorithm? hash = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return new PassThroughStream(inner, leaveOpen, hash);
    }

    /// <summary>Bytes read or written through this stream.</summary>
    public long BytesTransferred { get; private set; }

    /// <inheritdoc />
    public override bool CanRead => _inner.CanRead;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => _inner.CanWrite;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => BytesTransferred; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        var read = _inner.Read(buffer);
        _hash?.Append(buffer[..read]);
        BytesTransferred += read;
        return read;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        _hash?.Append(buffer.Span[..read]);
        BytesTransferred += read;
        return read;
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _inner.Write(buffer);
        _hash?.Append(buffer);
        BytesTransferred += buffer.Length;
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        _hash?.Append(buffer.Span);
        BytesTransferred += buffer.Length;
    }

    /// <summary>Lends what the inner stream lends; what is committed is counted and hashed as a write would be.</summary>
    public bool CanLend => _inner is IWriteBufferLender { CanLend: true };

    /// <inheritdoc />
    public Memory<byte> GetWriteBuffer() =>
        _inner is IWriteBufferLender lender ? lender.GetWriteBuffer() : throw new NotSupportedException("The inner stream lends no buffer.");

    /// <inheritdoc />
    public async ValueTask CommitAsync(int count, CancellationToken cancellationToken)
    {
        var lender = _inner as IWriteBufferLender ?? throw new NotSupportedException("The inner stream lends no buffer.");
        if (_hash is not null)
        {
            _hash.Append(lender.GetWriteBuffer().Span[..count]);
        }

        await lender.CommitAsync(count, cancellationToken).ConfigureAwait(false);
        BytesTransferred += count;
    }

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_leaveOpen)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (!_leaveOpen)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}
