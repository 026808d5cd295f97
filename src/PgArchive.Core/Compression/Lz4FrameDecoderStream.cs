using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;
using K4os.Hash.xxHash;

namespace PgArchive.Compression;

/// <summary>
/// Reads LZ4 frames (one or several, skippable frames between them) and returns their content. Independent blocks,
/// what PgArchive, WAL-G and the <c>lz4</c> tool write, are decoded on the thread pool, up to <c>parallelism</c> ahead
/// of the reader; linked blocks (PgArchive's earlier objects) one after another against the previous 64 KiB. Every
/// check the format has is made: the header checksum, block checksums, the content size and the content checksum
/// of each frame. Damage is reported as <see cref="InvalidDataException"/>; failures of the stream below pass unchanged.
/// </summary>
/// <remarks>
/// Hand-written over K4os' <c>LZ4Stream.Decode</c>, which decodes one 64 KiB-windowed block at a time through its own
/// buffers (about four times the CPU of its block decoder alone on PostgreSQL pages) and does not check the content
/// checksum. The block decoder is still K4os'. Memory: at most <c>parallelism</c> + 1 blocks of input and of output.
/// </remarks>
internal sealed class Lz4FrameDecoderStream : Stream
{
    private const uint SkippableMagicMask = 0xFFFF_FFF0;
    private const uint SkippableMagic = 0x184D2A50;
    private const int LinkedWindow = 64 * 1024;

    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private readonly int _parallelism;
    private readonly Queue<Task<Item>> _pending = new();
    private readonly byte[] _field = new byte[16];
    private readonly XXH32 _contentHash = new();
    private Frame? _frame;            // the frame whose blocks are being read from the source
    private byte[]? _window;          // linked blocks: the last 64 KiB decoded, their dictionary
    private int _windowLength;
    private bool _sourceEnded;
    private Item _current;
    private int _position;
    private long _frameContent;       // bytes of the frame being handed out so far
    private bool _disposed;

    public Lz4FrameDecoderStream(Stream source, bool leaveOpen, int parallelism)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        _source = source;
        _leaveOpen = leaveOpen;
        _parallelism = parallelism;
    }

    public override bool CanRead => !_disposed;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) =>
        IO.SyncRead.Run(buffer, memory => ReadCoreAsync(memory, useAsync: false, CancellationToken.None));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReadCoreAsync(buffer, useAsync: true, cancellationToken);

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, bool useAsync, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            if (_current.Buffer is { } data && _position < _current.Length)
            {
                var count = Math.Min(buffer.Length, _current.Length - _position);
                data.AsSpan(_position, count).CopyTo(buffer.Span);
                _position += count;
                return count;
            }

            ReleaseCurrent();
            await FillAsync(useAsync, cancellationToken).ConfigureAwait(false);
            if (_pending.Count == 0)
            {
                return 0;
            }

            var item = await _pending.Dequeue().ConfigureAwait(false);
            if (item.End is { } end)
            {
                CheckFrameEnd(end);
                continue;
            }

            if (item.Hashed)
            {
                _contentHash.Update(item.Buffer.AsSpan(0, item.Length));
            }

            _frameContent += item.Length;
            _current = item;
            _position = 0;
        }
    }

    /// <summary>Reads from the source until <c>parallelism</c> blocks are decoding or decoded ahead, or the source ends.</summary>
    private async ValueTask FillAsync(bool useAsync, CancellationToken cancellationToken)
    {
        while (_pending.Count < _parallelism && !_sourceEnded)
        {
            if (_frame is null)
            {
                await ReadFrameHeaderAsync(useAsync, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var frame = _frame;
            var sizeField = await ReadUInt32Async(useAsync, "a block size", cancellationToken).ConfigureAwait(false);
            if (sizeField == 0)
            {
                uint? checksum = frame.ContentChecksum
                    ? await ReadUInt32Async(useAsync, "the content checksum", cancellationToken).ConfigureAwait(false)
                    : null;
                _pending.Enqueue(Task.FromResult(new Item(null, 0, false, new FrameEnd(checksum, frame.ContentSize))));
                _frame = null;
                _window = null;
                continue;
            }

            var length = (int)(sizeField & ~Lz4Frame.UncompressedBlockFlag);
            if (length > frame.MaxBlockSize)
            {
                throw Corrupt($"a block of {length} bytes is larger than the frame's maximum of {frame.MaxBlockSize}.");
            }

            var block = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                await ReadExactlyAsync(block.AsMemory(0, length), useAsync, "a block", cancellationToken).ConfigureAwait(false);
                if (frame.BlockChecksum)
                {
                    var recorded = await ReadUInt32Async(useAsync, "a block checksum", cancellationToken).ConfigureAwait(false);
                    if (XXH32.DigestOf(block.AsSpan(0, length)) != recorded)
                    {
                        throw Corrupt("a block's checksum does not match its bytes.");
                    }
                }
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(block);
                throw;
            }

            var compressed = (sizeField & Lz4Frame.UncompressedBlockFlag) == 0;
            if (frame.IndependentBlocks && compressed)
            {
                var maxBlockSize = frame.MaxBlockSize;
                var hashed = frame.ContentChecksum;
                _pending.Enqueue(Task.Run(() => DecodeIndependent(block, length, maxBlockSize, hashed), CancellationToken.None));
            }
            else
            {
                _pending.Enqueue(Task.FromResult(DecodeInOrder(block, length, compressed, frame)));
            }
        }
    }

    private static Item DecodeIndependent(byte[] block, int length, int maxBlockSize, bool hashed) =>
        new(DecodeBlock(block, length, maxBlockSize, [], out var decoded), decoded, hashed, null);

    /// <summary>Decodes a block into a pooled buffer of <paramref name="maxBlockSize"/>; the block's own buffer goes back to the pool either way.</summary>
    private static byte[] DecodeBlock(byte[] block, int length, int maxBlockSize, ReadOnlySpan<byte> dictionary, out int decoded)
    {
        var output = ArrayPool<byte>.Shared.Rent(maxBlockSize);
        try
        {
            decoded = LZ4Codec.Decode(block.AsSpan(0, length), output.AsSpan(0, maxBlockSize), dictionary);
            if (decoded < 0)
            {
                throw Corrupt("a block does not decode.");
            }

            return output;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(output);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    /// <summary>An uncompressed block, or a linked one: decoded here, against the 64 KiB before it, which it then becomes part of.</summary>
    private Item DecodeInOrder(byte[] block, int length, bool compressed, Frame frame)
    {
        var item = compressed
            ? new Item(DecodeBlock(block, length, frame.MaxBlockSize, _window.AsSpan(0, _windowLength), out var decoded), decoded, frame.ContentChecksum, null)
            : new Item(block, length, frame.ContentChecksum, null);
        if (!frame.IndependentBlocks)
        {
            Remember(item.Buffer.AsSpan(0, item.Length));
        }

        return item;
    }

    private void Remember(ReadOnlySpan<byte> decoded)
    {
        _window ??= new byte[LinkedWindow];
        if (decoded.Length >= LinkedWindow)
        {
            decoded[^LinkedWindow..].CopyTo(_window);
            _windowLength = LinkedWindow;
            return;
        }

        var keep = Math.Min(_windowLength, LinkedWindow - decoded.Length);
        _window.AsSpan(_windowLength - keep, keep).CopyTo(_window);
        decoded.CopyTo(_window.AsSpan(keep));
        _windowLength = keep + decoded.Length;
    }

    private async ValueTask ReadFrameHeaderAsync(bool useAsync, CancellationToken cancellationToken)
    {
        var got = await ReadAtMostAsync(_field.AsMemory(0, 4), useAsync, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            _sourceEnded = true;
            return;
        }

        if (got < 4)
        {
            throw Corrupt("it ends inside a frame's magic number.");
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(_field);
        if ((magic & SkippableMagicMask) == SkippableMagic)
        {
            var skip = await ReadUInt32Async(useAsync, "a skippable frame's size", cancellationToken).ConfigureAwait(false);
            var scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                for (long left = skip; left > 0;)
                {
                    var chunk = (int)Math.Min(left, scratch.Length);
                    await ReadExactlyAsync(scratch.AsMemory(0, chunk), useAsync, "a skippable frame", cancellationToken).ConfigureAwait(false);
                    left -= chunk;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            return;
        }

        if (magic != Lz4Frame.Magic)
        {
            throw Corrupt($"0x{magic:x8} is not the magic number of an LZ4 frame.");
        }

        await ReadExactlyAsync(_field.AsMemory(0, 2), useAsync, "a frame descriptor", cancellationToken).ConfigureAwait(false);
        var flags = _field[0];
        var blockDescriptor = _field[1];
        if (flags >> 6 != 1 || (flags & 0b10) != 0 || (blockDescriptor & 0b1000_1111) != 0)
        {
            throw Corrupt($"its frame descriptor ({flags:x2} {blockDescriptor:x2}) is not version 01 or sets reserved bits.");
        }

        var sizeCode = (blockDescriptor >> 4) & 0b111;
        if (sizeCode < 4)
        {
            throw Corrupt($"its block size code {sizeCode} is not one the format defines.");
        }

        var hasContentSize = (flags & 0b1000) != 0;
        var hasDictionary = (flags & 0b1) != 0;
        var rest = (hasContentSize ? 8 : 0) + (hasDictionary ? 4 : 0);
        await ReadExactlyAsync(_field.AsMemory(2, rest + 1), useAsync, "a frame descriptor", cancellationToken).ConfigureAwait(false);
        if (Lz4Frame.HeaderChecksum(_field.AsSpan(0, 2 + rest)) != _field[2 + rest])
        {
            throw Corrupt("its frame header checksum does not match the header.");
        }

        if (hasDictionary)
        {
            throw Corrupt("the frame needs a preset dictionary, which neither PgArchive nor WAL-G writes.");
        }

        _frame = new Frame(
            IndependentBlocks: (flags & 0b10_0000) != 0,
            BlockChecksum: (flags & 0b1_0000) != 0,
            ContentChecksum: (flags & 0b100) != 0,
            ContentSize: hasContentSize ? (long)BinaryPrimitives.ReadUInt64LittleEndian(_field.AsSpan(2)) : null,
            MaxBlockSize: 1 << (8 + (2 * sizeCode)));
    }

    /// <summary>At the end mark of a frame, once all its blocks were handed out: its content checksum and size.</summary>
    private void CheckFrameEnd(FrameEnd end)
    {
        if (end.ContentChecksum is { } recorded && _contentHash.Digest() is var actual && actual != recorded)
        {
            throw Corrupt($"its content checksum is {actual:x8}, the frame records {recorded:x8}.");
        }

        if (end.ContentSize is { } size && size != _frameContent)
        {
            throw Corrupt($"the frame holds {_frameContent} bytes, its header records {size}.");
        }

        _contentHash.Reset();
        _frameContent = 0;
    }

    private async ValueTask<uint> ReadUInt32Async(bool useAsync, string what, CancellationToken cancellationToken)
    {
        await ReadExactlyAsync(_field.AsMemory(0, 4), useAsync, what, cancellationToken).ConfigureAwait(false);
        return BinaryPrimitives.ReadUInt32LittleEndian(_field);
    }

    private async ValueTask ReadExactlyAsync(Memory<byte> buffer, bool useAsync, string what, CancellationToken cancellationToken)
    {
        if (await ReadAtMostAsync(buffer, useAsync, cancellationToken).ConfigureAwait(false) < buffer.Length)
        {
            throw Corrupt($"it is truncated: it ends inside {what}.");
        }
    }

    private async ValueTask<int> ReadAtMostAsync(Memory<byte> buffer, bool useAsync, CancellationToken cancellationToken) => useAsync
        ? await _source.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false)
        : _source.ReadAtLeast(buffer.Span, buffer.Length, throwOnEndOfStream: false);

    private static InvalidDataException Corrupt(string detail) => new($"The lz4 data is corrupt: {detail}");

    private void ReleaseCurrent()
    {
        if (_current.Buffer is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _current = default;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            ReleaseCurrent();
            while (_pending.Count > 0)
            {
                try
                {
                    if (_pending.Dequeue().GetAwaiter().GetResult().Buffer is { } buffer)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
                catch (Exception)
                {
                    // A block that failed to decode returned its buffers; what it failed with no longer matters once the reader left.
                }
            }

            if (!_leaveOpen)
            {
                _source.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private sealed record Frame(bool IndependentBlocks, bool BlockChecksum, bool ContentChecksum, long? ContentSize, int MaxBlockSize);

    private readonly record struct FrameEnd(uint? ContentChecksum, long? ContentSize);

    /// <summary>A decoded block to hand out (pooled buffer), or the end of a frame to check.</summary>
    private readonly record struct Item(byte[]? Buffer, int Length, bool Hashed, FrameEnd? End);
}
