using System.Buffers.Binary;
using System.IO.Hashing;
using SharpCompress.Common;
using SharpCompress.Compressors;
using SharpCompress.Compressors.Deflate;

namespace PgArchive.Compression;

/// <summary>
/// Reads <c>.gz</c> objects (gzip, RFC 1952, as the <c>gzip</c> tool writes them: one member), which some WAL-E-era
/// archives hold, through SharpCompress' gzip reader, which checks the member's CRC-32 and size trailer (.NET's own
/// <c>GZipStream</c> ends quietly at a cut). A member cut short or altered, or bytes after it (a second member, which
/// is not read), is an <see cref="InvalidDataException"/>. Read only.
/// </summary>
public sealed class GzipDecompressor : IDecompressor
{
    /// <inheritdoc />
    public string Method => "gzip";

    /// <inheritdoc />
    public string FileExtension => "gz";

    /// <inheritdoc />
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        var tail = new TailStream(source, leaveOpen);
        var decoder = new GZipStream(tail, CompressionMode.Decompress);
        return new DecompressionErrorStream(new SingleMemberStream(decoder, tail), Method,
            static ex => ex is SharpCompressException or ZlibException or IndexOutOfRangeException);
    }

    /// <summary>Passes the stored bytes through, keeping the last eight: a lone member ends with its own trailer.</summary>
    private sealed class TailStream(Stream inner, bool leaveOpen) : IO.ReadOnlyWrapperStream(inner, leaveOpen)
    {
        public byte[] Last8 { get; } = new byte[8];

        public long Length8 { get; private set; }

        protected override void Observe(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes.Length > 8 ? bytes[^8..] : bytes)
            {
                Last8.AsSpan(1).CopyTo(Last8);
                Last8[7] = b;
            }

            Length8 += bytes.Length;
        }

        /// <summary>Reads the rest of the object (what the decoder left unread).</summary>
        public async ValueTask DrainAsync(bool useAsync, CancellationToken cancellationToken)
        {
            var buffer = new byte[8192];
            while ((useAsync ? await ReadAsync(buffer, cancellationToken).ConfigureAwait(false) : Read(buffer)) > 0)
            {
            }
        }
    }

    /// <summary>At the end of the member, checks the object ends with that member's trailer: nothing follows it.</summary>
    private sealed class SingleMemberStream(Stream decoder, TailStream tail) : IO.ReadOnlyWrapperStream(decoder)
    {
        private readonly Crc32 _crc = new();
        private long _length;
        private bool _checked;

        public override int Read(Span<byte> buffer)
        {
            var read = Inner.Read(buffer);
            if (read == 0 && !buffer.IsEmpty)
            {
                EndAsync(useAsync: false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }

            Add(buffer[..read]);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0 && !buffer.IsEmpty)
            {
                await EndAsync(useAsync: true, cancellationToken).ConfigureAwait(false);
            }

            Add(buffer.Span[..read]);
            return read;
        }

        // SharpCompress checks the trailer again as it is disposed, and throws there for a cut member: the read has
        // already failed with a clear message by then, so a failure of the disposal adds nothing.
        protected override void Dispose(bool disposing)
        {
            try
            {
                base.Dispose(disposing);
            }
            catch (Exception ex) when (ex is SharpCompressException or ZlibException)
            {
            }
        }

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await base.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SharpCompressException or ZlibException)
            {
            }
        }

        private void Add(ReadOnlySpan<byte> bytes)
        {
            _crc.Append(bytes);
            _length += bytes.Length;
        }

        private async ValueTask EndAsync(bool useAsync, CancellationToken cancellationToken)
        {
            if (_checked)
            {
                return;
            }

            _checked = true;
            await tail.DrainAsync(useAsync, cancellationToken).ConfigureAwait(false);
            if (tail.Length8 < 8
                || BinaryPrimitives.ReadUInt32LittleEndian(tail.Last8) != _crc.GetCurrentHashAsUInt32()
                || BinaryPrimitives.ReadUInt32LittleEndian(tail.Last8.AsSpan(4)) != (uint)_length)
            {
                throw new InvalidDataException("the gzip object has bytes after its first member (a second member, or damage): pgarchive reads one member");
            }
        }
    }
}
