namespace PgArchive.IO;

/// <summary>
/// A read buffer in front of a source, for codec libraries that only read synchronously (SharpCompress' LZMA
/// decoder, BouncyCastle's OpenPGP parser): the async path of the stage above calls <see cref="PrefetchAsync"/>
/// first, so the library's synchronous reads are mostly served from memory. Optionally, reading past the end
/// is an error rather than a 0 (for decoders that would otherwise run on into garbage). Remembers whether the
/// source itself failed, so that callers can tell a storage error from bad data.
/// </summary>
internal sealed class PrefetchStream(Stream source, string? pastEndMessage = null, int bufferSize = 1 << 16) : ReadOnlyStream
{
    private readonly byte[] _buffer = new byte[bufferSize];
    private int _start;
    private int _end;

    /// <summary>Bytes read from the source and not yet handed out.</summary>
    public int Buffered => _end - _start;

    /// <summary>The source returned 0: everything it holds is buffered or handed out.</summary>
    public bool Ended { get; private set; }

    /// <summary>A read of the source threw: the failure is the storage's, not the data's.</summary>
    public bool SourceFailed { get; private set; }

    /// <summary>Reads from the source until at least <paramref name="count"/> bytes (at most the buffer's size) are buffered or it ends.</summary>
    public void Prefetch(int count)
    {
        count = Math.Min(count, _buffer.Length);
        while (Buffered < count && !Ended)
        {
            Compact();
            try
            {
                Advance(source.Read(_buffer.AsSpan(_end)));
            }
            catch
            {
                SourceFailed = true;
                throw;
            }
        }
    }

    /// <inheritdoc cref="Prefetch"/>
    public async ValueTask PrefetchAsync(int count, CancellationToken cancellationToken)
    {
        count = Math.Min(count, _buffer.Length);
        while (Buffered < count && !Ended)
        {
            Compact();
            try
            {
                Advance(await source.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false));
            }
            catch
            {
                SourceFailed = true;
                throw;
            }
        }
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        Prefetch(1);
        if (Buffered == 0)
        {
            return pastEndMessage is null ? 0 : throw new InvalidDataException(pastEndMessage);
        }

        var count = Math.Min(buffer.Length, Buffered);
        _buffer.AsSpan(_start, count).CopyTo(buffer);
        _start += count;
        return count;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await PrefetchAsync(1, cancellationToken).ConfigureAwait(false);
        return Read(buffer.Span);
    }

    private void Compact()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_start > 0 && _end == _buffer.Length)
        {
            _buffer.AsSpan(_start, Buffered).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
    }

    private void Advance(int read)
    {
        if (read == 0)
        {
            Ended = true;
        }

        _end += read;
    }
}
