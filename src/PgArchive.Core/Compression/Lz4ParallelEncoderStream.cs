using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;
using K4os.Hash.xxHash;

namespace PgArchive.Compression;

/// <summary>
/// Writes one LZ4 frame (the format the <c>lz4</c> tool and WAL-G write): independent blocks of
/// <see cref="BlockSize"/> bytes, no content size, the content checksum (XXH32) at the end. Blocks are compressed
/// by K4os' block codec on the thread pool, up to <c>parallelism</c> at once, and written in order, so one large
/// stream (a 1 GiB table segment, a poorly compressible index) keeps every core busy instead of one.
/// </summary>
/// <remarks>
/// Hand-written over K4os' <c>LZ4Stream.Encode</c>, which compresses one block at a time on the writing thread and
/// copies each 64 KiB block through its own buffers. The block format, its compression and the frame's layout are
/// the LZ4 specification's; the block codec is still K4os'. Memory: at most <c>parallelism</c> + 1 blocks of input
/// and as many of output, whatever the length of the stream.
/// </remarks>
internal sealed class Lz4ParallelEncoderStream : Stream, IO.IWriteBufferLender
{
    /// <summary>Blocks of 1 MiB (frame block-size code 6): large enough that dispatching one costs nothing, small enough to bound memory.</summary>
    public const int BlockSize = 1 << 20;

    private const byte FrameFlags = 0b01_1_0_0_1_0_0; // version 01, independent blocks, no block checksum, no content size, content checksum, no dictionary
    private const byte BlockDescriptor = 6 << 4;      // block maximum size: 1 MiB

    /// <summary>Magic, FLG, BD, and the header checksum (the second byte of XXH32 over FLG and BD): the same for every frame.</summary>
    private static readonly byte[] Header = [.. Lz4Frame.MagicBytes, FrameFlags, BlockDescriptor, Lz4Frame.HeaderChecksum([FrameFlags, BlockDescriptor])];

    private readonly Stream _destination;
    private readonly bool _leaveOpen;
    private readonly int _parallelism;
    private readonly LZ4Level _level;
    private readonly XXH32 _contentHash = new();
    private readonly Queue<Task<EncodedBlock>> _inFlight = new();
    private byte[]? _block;
    private int _filled;
    private bool _headerWritten;
    private bool _failed;
    private bool _disposed;

    public Lz4ParallelEncoderStream(Stream destination, bool leaveOpen, int parallelism, LZ4Level level = LZ4Level.L00_FAST)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        _destination = destination;
        _leaveOpen = leaveOpen;
        _parallelism = parallelism;
        _level = level;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => !_disposed;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!buffer.IsEmpty)
        {
            buffer = buffer[Fill(buffer)..];
            Complete(AfterFillAsync(useAsync: false, CancellationToken.None));
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!buffer.IsEmpty)
        {
            buffer = buffer[Fill(buffer.Span)..];
            await AfterFillAsync(useAsync: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public bool CanLend => !_disposed;

    /// <summary>The unfilled rest of the block being filled: a reader fills it in place of a write that would copy into it.</summary>
    public Memory<byte> GetWriteBuffer()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _block ??= ArrayPool<byte>.Shared.Rent(BlockSize);
        return _block.AsMemory(_filled, BlockSize - _filled);
    }

    /// <summary>Takes <paramref name="count"/> bytes filled in place as written: hashed, and the block dispatched once full.</summary>
    public ValueTask CommitAsync(int count, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, BlockSize - _filled);
        if (count == 0)
        {
            return ValueTask.CompletedTask;
        }

        _contentHash.Update(_block.AsSpan(_filled, count));
        _filled += count;
        return AfterFillAsync(useAsync: true, cancellationToken);
    }

    /// <summary>Ends the current block early and writes every block so far (a frame's blocks may be shorter than the maximum).</summary>
    public override void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Complete(FlushCoreAsync(useAsync: false, CancellationToken.None));
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return FlushCoreAsync(useAsync: true, cancellationToken).AsTask();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            Complete(DisposeCoreAsync(useAsync: false));
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            await DisposeCoreAsync(useAsync: true).ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Copies into the block being filled and hashes what it took (the content checksum runs in order, here).</summary>
    private int Fill(ReadOnlySpan<byte> data)
    {
        _block ??= ArrayPool<byte>.Shared.Rent(BlockSize);
        var taken = Math.Min(data.Length, BlockSize - _filled);
        var slice = data[..taken];
        slice.CopyTo(_block.AsSpan(_filled));
        _contentHash.Update(slice);
        _filled += taken;
        return taken;
    }

    /// <summary>Hands the filled block to the thread pool to compress; the queue keeps the order blocks are written in.</summary>
    private void Dispatch()
    {
        if (_filled == 0)
        {
            return;
        }

        var block = _block!;
        var length = _filled;
        var level = _level;
        _block = null;
        _filled = 0;
        _inFlight.Enqueue(Task.Run(() => Encode(block, length, level)));
    }

    private static EncodedBlock Encode(byte[] block, int length, LZ4Level level)
    {
        // Only a block that shrinks is stored compressed: an output of the input's size is all it may need.
        var output = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var encoded = LZ4Codec.Encode(block.AsSpan(0, length), output.AsSpan(0, length - 1), level);
            if (encoded > 0)
            {
                ArrayPool<byte>.Shared.Return(block);
                return new EncodedBlock(output, encoded, Compressed: true);
            }

            // Did not shrink: the frame stores it as it is, flagged uncompressed.
            ArrayPool<byte>.Shared.Return(output);
            return new EncodedBlock(block, length, Compressed: false);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(output);
            ArrayPool<byte>.Shared.Return(block);
            throw;
        }
    }

    /// <summary>Once a block is full: hands it to the thread pool, and writes the oldest while more than <c>parallelism</c> are in flight.</summary>
    private ValueTask AfterFillAsync(bool useAsync, CancellationToken cancellationToken) =>
        _filled < BlockSize ? ValueTask.CompletedTask : Guarded(async () =>
        {
            Dispatch();
            while (_inFlight.Count > _parallelism)
            {
                await WriteBlockAsync(await _inFlight.Dequeue().ConfigureAwait(false), useAsync, cancellationToken).ConfigureAwait(false);
            }
        });

    private ValueTask FlushCoreAsync(bool useAsync, CancellationToken cancellationToken) =>
        Guarded(async () =>
        {
            await DrainAsync(useAsync, cancellationToken).ConfigureAwait(false);
            if (useAsync)
            {
                await _destination.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _destination.Flush();
            }
        });

    /// <summary>Ends the frame (unless a write failed: no end mark follows a failure), then lets go of the buffers and the destination.</summary>
    private async ValueTask DisposeCoreAsync(bool useAsync)
    {
        try
        {
            if (!_failed)
            {
                await Guarded(async () =>
                {
                    await DrainAsync(useAsync, CancellationToken.None).ConfigureAwait(false);
                    await WriteHeaderOnceAsync(useAsync, CancellationToken.None).ConfigureAwait(false);
                    await WriteOutAsync(Trailer(), useAsync, CancellationToken.None).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }
        }
        finally
        {
            Release();
            if (!_leaveOpen)
            {
                if (useAsync)
                {
                    await _destination.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    _destination.Dispose();
                }
            }
        }
    }

    /// <summary>Runs <paramref name="work"/>; a failure marks the stream failed, so that no end of frame is written after it.</summary>
    private async ValueTask Guarded(Func<ValueTask> work)
    {
        try
        {
            await work().ConfigureAwait(false);
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private async ValueTask DrainAsync(bool useAsync, CancellationToken cancellationToken)
    {
        Dispatch();
        while (_inFlight.Count > 0)
        {
            await WriteBlockAsync(await _inFlight.Dequeue().ConfigureAwait(false), useAsync, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask WriteBlockAsync(EncodedBlock block, bool useAsync, CancellationToken cancellationToken)
    {
        try
        {
            await WriteHeaderOnceAsync(useAsync, cancellationToken).ConfigureAwait(false);
            var size = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(size, block.SizeField);
            await WriteOutAsync(size, useAsync, cancellationToken).ConfigureAwait(false);
            await WriteOutAsync(block.Buffer.AsMemory(0, block.Length), useAsync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block.Buffer);
        }
    }

    private async ValueTask WriteHeaderOnceAsync(bool useAsync, CancellationToken cancellationToken)
    {
        if (!_headerWritten)
        {
            await WriteOutAsync(Header, useAsync, cancellationToken).ConfigureAwait(false);
            _headerWritten = true;
        }
    }

    private async ValueTask WriteOutAsync(ReadOnlyMemory<byte> bytes, bool useAsync, CancellationToken cancellationToken)
    {
        if (useAsync)
        {
            await _destination.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            _destination.Write(bytes.Span);
        }
    }

    /// <summary>Waits, on the synchronous paths, for work run with <c>useAsync: false</c> (it only waits on blocks compressing on the pool).</summary>
    private static void Complete(ValueTask task) => task.AsTask().GetAwaiter().GetResult();

    /// <summary>The end mark (a zero block size) and the content checksum.</summary>
    private byte[] Trailer()
    {
        var trailer = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), _contentHash.Digest());
        return trailer;
    }

    /// <summary>Waits for blocks still compressing (their buffers go back to the pool) and returns the block being filled.</summary>
    private void Release()
    {
        _disposed = true;
        while (_inFlight.Count > 0)
        {
            var task = _inFlight.Dequeue();
            try
            {
                ArrayPool<byte>.Shared.Return(task.GetAwaiter().GetResult().Buffer);
            }
            catch (Exception)
            {
                // Its buffers went back where it failed; the failure is reported by the write that met it, or does not matter now.
            }
        }

        if (_block is not null)
        {
            ArrayPool<byte>.Shared.Return(_block);
            _block = null;
        }
    }

    private readonly record struct EncodedBlock(byte[] Buffer, int Length, bool Compressed)
    {
        public uint SizeField => (uint)Length | (Compressed ? 0 : Lz4Frame.UncompressedBlockFlag);
    }
}
