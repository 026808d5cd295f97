using System.Buffers.Binary;
using Microsoft.Extensions.Options;
using PgArchive.IO;
using SharpCompress.Common;
using SharpCompress.Compressors.LZMA;

namespace PgArchive.Compression;

/// <summary>
/// LZMA (<c>WALG_COMPRESSION_METHOD=lzma</c>, extension <c>.lzma</c>) in the classic "LZMA alone" container that
/// WAL-G's encoder (ulikunitz/xz <c>lzma.NewWriter</c>) writes and <c>xz --format=lzma</c> reads: a 13-byte header
/// (properties byte lc=3 lp=0 pb=2, dictionary size, uncompressed size −1 = unknown), then the range-coded data
/// closed by an end-of-stream marker. The codec is SharpCompress'; this class only frames it. Reading also accepts
/// a known size in the header, and fails on a stream cut before its end marker.
/// </summary>
public sealed class LzmaCompressor : ICompressor
{
    private const int HeaderSize = 13;
    private const int MaxDictionarySize = 1 << 30;
    private readonly int _dictionarySize;
    private readonly int _fastBytes;

    /// <summary>Creates the compressor with WAL-G's settings.</summary>
    public LzmaCompressor() : this(new LzmaCompressorOptions())
    {
    }

    /// <summary>Creates the compressor with the options' settings.</summary>
    public LzmaCompressor(IOptions<LzmaCompressorOptions> options) : this(options?.Value ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    /// <summary>Creates the compressor with the options' settings.</summary>
    public LzmaCompressor(LzmaCompressorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DictionarySize, 64 << 10, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.DictionarySize, 256 << 20, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.FastBytes, 5, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.FastBytes, 273, nameof(options));
        _dictionarySize = options.DictionarySize;
        _fastBytes = options.FastBytes;
    }

    /// <inheritdoc />
    public string Method => "lzma";

    /// <inheritdoc />
    public string FileExtension => "lzma";

    /// <inheritdoc />
    public Stream CreateCompressionStream(Stream destination, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return new EncodeStream(destination, new LzmaEncoderProperties(eos: true, _dictionarySize, _fastBytes), leaveOpen);
    }

    /// <inheritdoc />
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new DecodeStream(source, leaveOpen);
    }

    private static bool IsCodecError(Exception ex) => ex is SharpCompressException or IndexOutOfRangeException;

    /// <summary>Writes the 13-byte header, then SharpCompress' LZMA encoder output with its end marker.</summary>
    private sealed class EncodeStream(Stream destination, LzmaEncoderProperties properties, bool leaveOpen) : WriteOnlyStream
    {
        private readonly LzmaStream _encoder = LzmaStream.Create(properties, isLzma2: false, destination);
        private bool _headerWritten;
        private bool _disposed;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!_headerWritten)
            {
                destination.Write(Header());
            }

            _encoder.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_headerWritten)
            {
                await destination.WriteAsync(Header(), cancellationToken).ConfigureAwait(false);
            }

            await _encoder.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        private byte[] Header()
        {
            _headerWritten = true;
            var header = new byte[HeaderSize];
            _encoder.Properties.AsSpan(0, 5).CopyTo(header); // properties byte and dictionary size, little endian
            header.AsSpan(5).Fill(0xFF); // uncompressed size unknown: the end marker closes the stream
            return header;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                if (!_headerWritten)
                {
                    destination.Write(Header());
                }

                _encoder.Dispose();
                if (!leaveOpen)
                {
                    destination.Dispose();
                }
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                if (!_headerWritten)
                {
                    await destination.WriteAsync(Header()).ConfigureAwait(false);
                }

                await _encoder.DisposeAsync().ConfigureAwait(false);
                if (!leaveOpen)
                {
                    await destination.DisposeAsync().ConfigureAwait(false);
                }
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Parses the header, then runs SharpCompress' decoder (synchronously: its byte-wise range decoder is CPU
    /// work) over a <see cref="PrefetchStream"/>, which the async path keeps filled ahead so that the decoder rarely waits.
    /// </summary>
    private sealed class DecodeStream(Stream source, bool leaveOpen) : ReadOnlyStream
    {
        /// <summary>How much the async path keeps buffered ahead of the decoder.</summary>
        private const int PrefetchSize = 1 << 15;

        // SharpCompress would feed its range decoder 0xFF forever past the end of a cut object: reading there fails instead.
        private readonly PrefetchStream _input = new(source, "The lzma data is truncated: the object ends before the LZMA stream does.");
        private LzmaStream? _decoder;
        private bool _finished;

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty || _finished)
            {
                return 0;
            }

            if (_decoder is null)
            {
                _input.Prefetch(HeaderSize);
                Start();
            }

            var read = Decode(buffer);
            if (read == 0)
            {
                _input.Prefetch(1);
                Finish();
            }

            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty || _finished)
            {
                return 0;
            }

            if (_decoder is null)
            {
                await _input.PrefetchAsync(HeaderSize + 5, cancellationToken).ConfigureAwait(false);
                Start();
            }

            await _input.PrefetchAsync(PrefetchSize, cancellationToken).ConfigureAwait(false);
            var read = Decode(buffer.Span);
            if (read == 0)
            {
                await _input.PrefetchAsync(1, cancellationToken).ConfigureAwait(false);
                Finish();
            }

            return read;
        }

        private void Start()
        {
            Span<byte> header = stackalloc byte[HeaderSize];
            if (_input.Buffered == 0 && _input.Ended)
            {
                throw new InvalidDataException("The lzma data is empty: the object is truncated (every lzma stream has a 13-byte header).");
            }

            _input.ReadExactly(header);
            var properties = header[..5].ToArray();
            if (properties[0] >= 9 * 5 * 5)
            {
                throw new InvalidDataException($"The lzma data is corrupt: properties byte 0x{properties[0]:X2} is not an LZMA one (is the object LZMA-compressed?).");
            }

            var dictionary = BinaryPrimitives.ReadUInt32LittleEndian(properties.AsSpan(1));
            var size = BinaryPrimitives.ReadInt64LittleEndian(header[5..]);
            if (size < -1)
            {
                throw new InvalidDataException("The lzma data is corrupt: the header's uncompressed size is out of range.");
            }

            // The window never needs to exceed the content, as liblzma also reasons; cap what a header may make us allocate.
            var window = size >= 0 ? Math.Min(dictionary, (ulong)Math.Max(size, 4096)) : dictionary;
            if (window > MaxDictionarySize)
            {
                throw new InvalidDataException($"The lzma data asks for a {dictionary}-byte dictionary, more than the {MaxDictionarySize} bytes PgArchive accepts.");
            }

            BinaryPrimitives.WriteUInt32LittleEndian(properties.AsSpan(1), (uint)Math.Max(window, 4096));
            try
            {
                _decoder = LzmaStream.Create(properties, _input, inputSize: -1, outputSize: size, leaveOpen: true);
            }
            catch (Exception ex) when (IsCodecError(ex))
            {
                throw new InvalidDataException($"The lzma data is corrupt: {ex.Message}", ex);
            }
        }

        private int Decode(Span<byte> buffer)
        {
            try
            {
                return _decoder!.Read(buffer);
            }
            catch (Exception ex) when (IsCodecError(ex))
            {
                throw new InvalidDataException($"The lzma data is corrupt: {ex.Message}", ex);
            }
        }

        private void Finish()
        {
            _finished = true;
            if (_input.Buffered > 0 || !_input.Ended)
            {
                throw new InvalidDataException("The lzma data is corrupt: bytes follow the end of the LZMA stream.");
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _decoder?.Dispose();
                if (!leaveOpen)
                {
                    source.Dispose();
                }
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            _decoder?.Dispose();
            if (!leaveOpen)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
