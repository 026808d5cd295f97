using System.Buffers;
using System.IO.Compression;
using Microsoft.Extensions.Options;
using PgArchive.IO;

namespace PgArchive.Compression;

/// <summary>
/// Brotli (<c>WALG_COMPRESSION_METHOD=brotli</c>, extension <c>.br</c>), through System.IO.Compression, with
/// the default 4 MiB window WAL-G's encoder uses. Unlike <see cref="BrotliStream"/>, reading insists on the
/// stream's end marker: a cut object fails instead of returning a short result.
/// </summary>
public sealed class BrotliCompressor : ICompressor
{
    private readonly int _quality;

    /// <summary>Creates the compressor with the default quality.</summary>
    public BrotliCompressor() : this(new BrotliCompressorOptions())
    {
    }

    /// <summary>Creates the compressor with the options' quality.</summary>
    public BrotliCompressor(IOptions<BrotliCompressorOptions> options) : this(options?.Value ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    /// <summary>Creates the compressor with the options' quality.</summary>
    public BrotliCompressor(BrotliCompressorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Quality, 0, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Quality, 11, nameof(options));
        _quality = options.Quality;
    }

    /// <inheritdoc />
    public string Method => "brotli";

    /// <inheritdoc />
    public string FileExtension => "br";

    /// <summary>The quality new objects are written with.</summary>
    public int Quality => _quality;

    /// <inheritdoc />
    public Stream CreateCompressionStream(Stream destination, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return new BrotliStream(destination, new BrotliCompressionOptions { Quality = _quality }, leaveOpen);
    }

    /// <inheritdoc />
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new DecodeStream(source, leaveOpen);
    }

    /// <summary>Drives <see cref="BrotliDecoder"/> over the source and checks that the stream ends where the source does.</summary>
    private sealed class DecodeStream(Stream source, bool leaveOpen) : ReadOnlyStream
    {
        private const int InputSize = 1 << 16;
        private BrotliDecoder _decoder;
        private byte[]? _input = ArrayPool<byte>.Shared.Rent(InputSize);
        private int _start;
        private int _end;
        private bool _sourceEnded;
        private bool _sawInput;
        private bool _done;

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                if (TryDecode(buffer, out var written))
                {
                    return written;
                }

                Fill(source.Read(Input.AsSpan(_end)));
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                if (TryDecode(buffer.Span, out var written))
                {
                    return written;
                }

                Fill(await source.ReadAsync(Input.AsMemory(_end), cancellationToken).ConfigureAwait(false));
            }
        }

        private byte[] Input => _input ?? throw new ObjectDisposedException(nameof(BrotliCompressor));

        /// <summary>Decodes what is buffered; false when more input is needed first.</summary>
        private bool TryDecode(Span<byte> buffer, out int written)
        {
            written = 0;
            if (buffer.IsEmpty)
            {
                return true;
            }

            if (_done)
            {
                // The brotli stream has ended: the object must end here too, or it is not what was written.
                if (_start < _end)
                {
                    throw new InvalidDataException("The brotli data is corrupt: bytes follow the end of the brotli stream.");
                }

                _start = _end = 0;
                return _sourceEnded;
            }

            var status = _decoder.Decompress(Input.AsSpan(_start, _end - _start), buffer, out var consumed, out written);
            _start += consumed;
            switch (status)
            {
                case OperationStatus.InvalidData:
                    throw new InvalidDataException("The brotli data is corrupt.");
                case OperationStatus.Done:
                    _done = true;
                    return written > 0 || TryDecode(buffer, out written);
                case OperationStatus.DestinationTooSmall:
                    return written > 0 ? true : throw new InvalidDataException("The brotli decoder made no progress.");
                default: // NeedMoreData
                    if (written > 0)
                    {
                        return true;
                    }

                    if (_sourceEnded)
                    {
                        throw new InvalidDataException(_sawInput
                            ? "The brotli data is truncated: the object ends before the brotli stream does."
                            : "The brotli data is empty: the object is truncated (every brotli stream has a header).");
                    }

                    if (_start > 0)
                    {
                        Input.AsSpan(_start, _end - _start).CopyTo(Input);
                        _end -= _start;
                        _start = 0;
                    }

                    return _end < Input.Length ? false : throw new InvalidDataException("The brotli decoder made no progress.");
            }
        }

        private void Fill(int read)
        {
            if (read == 0)
            {
                _sourceEnded = true;
                return;
            }

            _sawInput = true;
            _end += read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Release();
                if (!leaveOpen)
                {
                    source.Dispose();
                }
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            Release();
            if (!leaveOpen)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }

        private void Release()
        {
            _decoder.Dispose();
            if (_input is { } input)
            {
                _input = null;
                ArrayPool<byte>.Shared.Return(input);
            }
        }
    }
}
