using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;

namespace PgArchive.Compression;

/// <summary>
/// Reads the <c>lzop</c> file format (what WAL-E's <c>lzop -c</c> wrote for every object) and returns its content:
/// the header (magic, versions, method, flags, mode, times, name, header checksum, optional extra field), then
/// blocks of at most 64 MiB (lzop writes 256 KiB), each with its decoded and stored sizes, the checksums its flags
/// ask for (Adler-32 or CRC-32 of the decoded and of the compressed bytes), and LZO1X data (or the bytes as they are
/// when they did not compress), up to the zero-size end marker. Every checksum is checked; damage, a truncated object
/// or bytes after the end marker are <see cref="InvalidDataException"/>. Memory: one block of input and one of output.
/// </summary>
internal sealed class LzopDecoderStream : IO.ReadOnlyStream
{
    /// <summary>The 9 bytes every lzop file starts with.</summary>
    internal static readonly byte[] Magic = [0x89, (byte)'L', (byte)'Z', (byte)'O', 0x00, 0x0D, 0x0A, 0x1A, 0x0A];

    private const uint AdlerDecoded = 0x1, AdlerCompressed = 0x2, ExtraField = 0x40, CrcDecoded = 0x100, CrcCompressed = 0x200;
    private const uint Multipart = 0x400, Filter = 0x800, HeaderCrc = 0x1000;
    private const uint KnownFlags = 0x3FFF | 0xFF00_0000 | 0x00F0_0000; // lzop's F_MASK, operating system and character set
    private const int MaxBlockSize = 64 << 20;                             // lzop's MAX_BLOCK_SIZE
    private const int NewestVersionNeeded = 0x1040;                        // lzop 1.04, the format's last change

    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private readonly byte[] _field = new byte[8];
    private uint _flags;
    private bool _headerRead;
    private bool _ended;
    private byte[]? _block;
    private int _blockLength;
    private int _position;
    private bool _disposed;

    public LzopDecoderStream(Stream source, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _leaveOpen = leaveOpen;
    }

    public override int Read(Span<byte> buffer) =>
        IO.SyncRead.Run(buffer, memory => ReadCoreAsync(memory, useAsync: false, CancellationToken.None));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReadCoreAsync(buffer, useAsync: true, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            ReturnBlock();
            if (!_leaveOpen)
            {
                _source.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            ReturnBlock();
            if (!_leaveOpen)
            {
                await _source.DisposeAsync().ConfigureAwait(false);
            }
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, bool useAsync, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (!_headerRead)
        {
            await ReadHeaderAsync(useAsync, cancellationToken).ConfigureAwait(false);
            _headerRead = true;
        }

        while (_block is null || _position == _blockLength)
        {
            if (_ended || !await ReadBlockAsync(useAsync, cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }
        }

        var count = Math.Min(buffer.Length, _blockLength - _position);
        _block.AsSpan(_position, count).CopyTo(buffer.Span);
        _position += count;
        return count;
    }

    private async ValueTask ReadHeaderAsync(bool useAsync, CancellationToken cancellationToken)
    {
        var magic = new byte[Magic.Length];
        var got = await ReadAtMostAsync(magic, useAsync, cancellationToken).ConfigureAwait(false);
        if (got != Magic.Length || !magic.AsSpan().SequenceEqual(Magic))
        {
            throw new InvalidDataException(got == 0 ? "the object is empty, not an lzop file" : "the data does not start with lzop's magic bytes");
        }

        // Everything from here to the header checksum is covered by it.
        var header = new List<byte>(64);
        var version = await ReadHeaderUInt16Async(header, useAsync, cancellationToken).ConfigureAwait(false);
        await ReadHeaderUInt16Async(header, useAsync, cancellationToken).ConfigureAwait(false); // the LZO library's version
        if (version >= 0x0940)
        {
            var needed = await ReadHeaderUInt16Async(header, useAsync, cancellationToken).ConfigureAwait(false);
            if (needed > NewestVersionNeeded)
            {
                throw new InvalidDataException($"the lzop header needs lzop version {needed >> 12}.{(needed >> 4) & 0xFF:x2} or later to read it");
            }
        }

        var method = (await ReadHeaderBytesAsync(header, 1, useAsync, cancellationToken).ConfigureAwait(false))[0];
        if (method is not (1 or 2 or 3))
        {
            throw new InvalidDataException($"the lzop method {method} is not LZO1X (1, 2 or 3)");
        }

        if (version >= 0x0940)
        {
            await ReadHeaderBytesAsync(header, 1, useAsync, cancellationToken).ConfigureAwait(false); // the level
        }

        _flags = await ReadHeaderUInt32Async(header, useAsync, cancellationToken).ConfigureAwait(false);
        if ((_flags & ~KnownFlags) != 0 || (_flags & (Multipart | Filter)) != 0)
        {
            throw new InvalidDataException($"the lzop header has flags 0x{_flags:x8}, which name features lzop 1.04 does not write (multipart, filters)");
        }

        await ReadHeaderBytesAsync(header, version >= 0x0940 ? 12 : 8, useAsync, cancellationToken).ConfigureAwait(false); // mode, mtime
        var nameLength = (await ReadHeaderBytesAsync(header, 1, useAsync, cancellationToken).ConfigureAwait(false))[0];
        await ReadHeaderBytesAsync(header, nameLength, useAsync, cancellationToken).ConfigureAwait(false);
        var recorded = await ReadUInt32Async(useAsync, "the header checksum", cancellationToken).ConfigureAwait(false);
        var useCrc = (_flags & HeaderCrc) != 0;
        var actual = useCrc ? Crc32.HashToUInt32(header.ToArray()) : Adler32(header.ToArray());
        if (actual != recorded)
        {
            throw new InvalidDataException($"the lzop header's {(useCrc ? "CRC-32" : "Adler-32")} is 0x{actual:x8}, recorded 0x{recorded:x8}");
        }

        if ((_flags & ExtraField) != 0)
        {
            var field = new List<byte>();
            var length = await ReadHeaderUInt32Async(field, useAsync, cancellationToken).ConfigureAwait(false);
            if (length > 1 << 20)
            {
                throw new InvalidDataException($"the lzop header's extra field claims {length} bytes");
            }

            await ReadHeaderBytesAsync(field, (int)length, useAsync, cancellationToken).ConfigureAwait(false);
            var fieldRecorded = await ReadUInt32Async(useAsync, "the extra field's checksum", cancellationToken).ConfigureAwait(false);
            var fieldActual = useCrc ? Crc32.HashToUInt32(field.ToArray()) : Adler32(field.ToArray());
            if (fieldActual != fieldRecorded)
            {
                throw new InvalidDataException("the lzop header's extra field does not match its checksum");
            }
        }
    }

    /// <summary>Reads and decodes the next block; false at the end marker (after checking nothing follows it).</summary>
    private async ValueTask<bool> ReadBlockAsync(bool useAsync, CancellationToken cancellationToken)
    {
        var decodedSize = await ReadUInt32Async(useAsync, "a block header", cancellationToken).ConfigureAwait(false);
        if (decodedSize == 0)
        {
            _ended = true;
            ReturnBlock();
            if (await ReadAtMostAsync(_field.AsMemory(0, 1), useAsync, cancellationToken).ConfigureAwait(false) != 0)
            {
                throw new InvalidDataException("there are bytes after the lzop end marker");
            }

            return false;
        }

        var storedSize = await ReadUInt32Async(useAsync, "a block header", cancellationToken).ConfigureAwait(false);
        if (decodedSize > MaxBlockSize || storedSize == 0 || storedSize > decodedSize)
        {
            throw new InvalidDataException($"an lzop block header gives {storedSize} stored bytes for {decodedSize} decoded (at most {MaxBlockSize}, and never more stored than decoded)");
        }

        uint? adlerDecoded = (_flags & AdlerDecoded) != 0 ? await ReadUInt32Async(useAsync, "a block checksum", cancellationToken).ConfigureAwait(false) : null;
        uint? crcDecoded = (_flags & CrcDecoded) != 0 ? await ReadUInt32Async(useAsync, "a block checksum", cancellationToken).ConfigureAwait(false) : null;
        var compressed = storedSize < decodedSize;
        uint? adlerCompressed = compressed && (_flags & AdlerCompressed) != 0 ? await ReadUInt32Async(useAsync, "a block checksum", cancellationToken).ConfigureAwait(false) : null;
        uint? crcCompressed = compressed && (_flags & CrcCompressed) != 0 ? await ReadUInt32Async(useAsync, "a block checksum", cancellationToken).ConfigureAwait(false) : null;

        var stored = ArrayPool<byte>.Shared.Rent((int)storedSize);
        try
        {
            await ReadExactlyAsync(stored.AsMemory(0, (int)storedSize), useAsync, "a block", cancellationToken).ConfigureAwait(false);
            var storedSpan = stored.AsSpan(0, (int)storedSize);
            Check(adlerCompressed, Adler32(storedSpan), "Adler-32 of its compressed bytes");
            Check(crcCompressed, Crc32.HashToUInt32(storedSpan), "CRC-32 of its compressed bytes");

            ReturnBlock();
            _block = ArrayPool<byte>.Shared.Rent((int)decodedSize);
            _blockLength = (int)decodedSize;
            _position = 0;
            var decoded = _block.AsSpan(0, _blockLength);
            if (compressed)
            {
                Lzo1xBlock.Decode(storedSpan, decoded);
            }
            else
            {
                storedSpan.CopyTo(decoded);
            }

            Check(adlerDecoded, Adler32(decoded), "Adler-32 of its decoded bytes");
            Check(crcDecoded, Crc32.HashToUInt32(decoded), "CRC-32 of its decoded bytes");
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stored);
        }
    }

    private static void Check(uint? recorded, uint actual, string what)
    {
        if (recorded is { } value && value != actual)
        {
            throw new InvalidDataException($"an lzop block does not match the {what} (0x{actual:x8}, recorded 0x{value:x8})");
        }
    }

    /// <summary>Adler-32 (RFC 1950), lzop's default checksum, seeded with 1.</summary>
    internal static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint Modulus = 65521;
        uint a = 1, b = 0;
        while (!data.IsEmpty)
        {
            var chunk = data[..Math.Min(data.Length, 5552)]; // the most bytes before the sums can overflow
            foreach (var value in chunk)
            {
                a += value;
                b += a;
            }

            a %= Modulus;
            b %= Modulus;
            data = data[chunk.Length..];
        }

        return (b << 16) | a;
    }

    private void ReturnBlock()
    {
        if (_block is not null)
        {
            ArrayPool<byte>.Shared.Return(_block);
            _block = null;
        }
    }

    private async ValueTask<byte[]> ReadHeaderBytesAsync(List<byte> header, int count, bool useAsync, CancellationToken cancellationToken)
    {
        var bytes = new byte[count];
        await ReadExactlyAsync(bytes, useAsync, "the header", cancellationToken).ConfigureAwait(false);
        header.AddRange(bytes);
        return bytes;
    }

    private async ValueTask<ushort> ReadHeaderUInt16Async(List<byte> header, bool useAsync, CancellationToken cancellationToken) =>
        BinaryPrimitives.ReadUInt16BigEndian(await ReadHeaderBytesAsync(header, 2, useAsync, cancellationToken).ConfigureAwait(false));

    private async ValueTask<uint> ReadHeaderUInt32Async(List<byte> header, bool useAsync, CancellationToken cancellationToken) =>
        BinaryPrimitives.ReadUInt32BigEndian(await ReadHeaderBytesAsync(header, 4, useAsync, cancellationToken).ConfigureAwait(false));

    private async ValueTask<uint> ReadUInt32Async(bool useAsync, string what, CancellationToken cancellationToken)
    {
        await ReadExactlyAsync(_field.AsMemory(0, 4), useAsync, what, cancellationToken).ConfigureAwait(false);
        return BinaryPrimitives.ReadUInt32BigEndian(_field);
    }

    private async ValueTask ReadExactlyAsync(Memory<byte> buffer, bool useAsync, string what, CancellationToken cancellationToken)
    {
        if (await ReadAtMostAsync(buffer, useAsync, cancellationToken).ConfigureAwait(false) != buffer.Length)
        {
            throw new InvalidDataException($"the lzop data ends in the middle of {what}: the object is truncated");
        }
    }

    private async ValueTask<int> ReadAtMostAsync(Memory<byte> buffer, bool useAsync, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = useAsync
                ? await _source.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false)
                : _source.Read(buffer.Span[total..]);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
