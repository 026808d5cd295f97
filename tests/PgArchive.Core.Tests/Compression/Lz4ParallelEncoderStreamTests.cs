using System.Buffers.Binary;
using System.IO.Hashing;
using K4os.Compression.LZ4.Streams;
using PgArchive.Support;

namespace PgArchive.Compression;

public sealed class Lz4ParallelEncoderStreamTests
{
    private const int Block = Lz4ParallelEncoderStream.BlockSize;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<int, int, bool> Shapes()
    {
        var shapes = new TheoryData<int, int, bool>();
        foreach (var length in new[] { 0, 1, Block - 1, Block, Block + 1, 3 * Block + 12_345 })
        {
            shapes.Add(length, 1, true);
            shapes.Add(length, 3, true);
            shapes.Add(length, 3, false);
        }

        return shapes;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task The_frame_decodes_to_exactly_what_was_written_in_uneven_pieces(int length, int parallelism, bool asynchronous)
    {
        var data = Distinct(length);

        var frame = await EncodeAsync(data, parallelism, asynchronous);

        Assert.True(Codecs.Same(data, await DecodeWithK4osAsync(frame)), "K4os' frame decoder returned different bytes");
    }

    [Fact]
    public async Task Blocks_come_out_in_the_order_they_went_in_while_many_compress_at_once()
    {
        // Twelve blocks, each different, four compressing at once: any reordering changes the decoded bytes.
        var data = Distinct(12 * Block);

        var frame = await EncodeAsync(data, parallelism: 4, asynchronous: true);

        Assert.True(Codecs.Same(data, await DecodeWithK4osAsync(frame)));
    }

    [Fact]
    public async Task The_header_declares_independent_1_MiB_blocks_and_a_content_checksum_that_matches_the_content()
    {
        var data = Codecs.Data(2 * Block + 5);

        var frame = await EncodeAsync(data, parallelism: 2, asynchronous: true);

        Assert.Equal(0x184D2204u, BinaryPrimitives.ReadUInt32LittleEndian(frame));
        Assert.Equal(0b0110_0100, frame[4]); // version 01, independent blocks, content checksum; no block checksum, size or dictionary
        Assert.Equal(0x60, frame[5]);        // maximum block size code 6: 1 MiB
        Assert.Equal((byte)(XxHash32.HashToUInt32(frame.AsSpan(4, 2)) >> 8), frame[6]);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(frame.Length - 8)));            // end mark
        Assert.Equal(XxHash32.HashToUInt32(data), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(frame.Length - 4)));
    }

    [Fact]
    public async Task A_block_that_does_not_shrink_is_stored_as_it_is_and_flagged_uncompressed()
    {
        var data = new byte[Block];
        new Random(7).NextBytes(data);

        var frame = await EncodeAsync(data, parallelism: 2, asynchronous: true);

        var sizeField = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(7));
        Assert.Equal(0x8000_0000u | Block, sizeField);
        Assert.True(frame.AsSpan(11, Block).SequenceEqual(data));
        Assert.True(Codecs.Same(data, await DecodeWithK4osAsync(frame)));
    }

    [Fact]
    public async Task An_empty_stream_is_a_frame_with_no_blocks()
    {
        var frame = await EncodeAsync([], parallelism: 2, asynchronous: true);

        Assert.Equal(7 + 4 + 4, frame.Length);
        Assert.Equal(XxHash32.HashToUInt32([]), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(11)));
        Assert.Empty(await DecodeWithK4osAsync(frame));
    }

    [Fact]
    public async Task Flush_ends_the_block_early_and_the_frame_still_decodes()
    {
        var data = Codecs.Data(Block + 100);
        using var stored = new MemoryStream();
        await using (var encoder = new Lz4ParallelEncoderStream(stored, leaveOpen: true, parallelism: 2))
        {
            await encoder.WriteAsync(data.AsMemory(0, 1000), Token);
            await encoder.FlushAsync(Token);
            Assert.True(stored.Length > 7, "a flush writes the block so far");
            await encoder.WriteAsync(data.AsMemory(1000), Token);
        }

        Assert.True(Codecs.Same(data, await DecodeWithK4osAsync(stored.ToArray())));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_failed_write_below_is_reported_and_no_end_of_frame_follows_it(bool asynchronous)
    {
        var destination = new FailingAfterStream(failAfter: 3 * Block);
        var encoder = new Lz4ParallelEncoderStream(destination, leaveOpen: true, parallelism: 2);
        var data = new byte[8 * Block];
        new Random(3).NextBytes(data); // incompressible: each block is stored whole, so the third one fails

        var error = await Assert.ThrowsAsync<IOException>(async () =>
        {
            if (asynchronous)
            {
                await encoder.WriteAsync(data, Token);
            }
            else
            {
                encoder.Write(data);
            }
        });
        Assert.Equal("disk full", error.Message);
        var written = destination.Written;

        if (asynchronous)
        {
            await encoder.DisposeAsync();
        }
        else
        {
            encoder.Dispose();
        }

        Assert.Equal(written, destination.Written);
    }

    [Fact]
    public async Task A_file_tarred_into_the_frame_is_read_straight_into_its_blocks_and_the_frame_holds_exactly_the_tar()
    {
        // The file read lands in the encoder's 1 MiB block (reads larger than any copy buffer), the tar around it is
        // unchanged, and the counting and hashing stage between the tar writer and the encoder sees every byte.
        var first = Distinct(3 * Block + 12_345);
        var second = Codecs.Data(70_000);
        var firstSource = new ReadSizeRecordingStream(first);
        using var stored = new MemoryStream();
        var tarHash = new XxHash64();
        long tarBytes;
        string firstHash;
        await using (var encoder = new Lz4ParallelEncoderStream(stored, leaveOpen: true, parallelism: 2))
        {
            await using var counter = PgArchive.IO.PassThroughStream.Wrap(encoder, leaveOpen: true, tarHash);
            await using (var writer = new System.Formats.Tar.TarWriter(counter, System.Formats.Tar.TarEntryFormat.Gnu, leaveOpen: true))
            {
                var inspected = new PgArchive.Backups.InspectingReadStream(new PgArchive.IO.FixedLengthReadStream(firstSource, first.Length), null);
                await writer.WriteEntryAsync(new System.Formats.Tar.GnuTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "base/1/16384") { DataStream = inspected }, Token);
                firstHash = inspected.HashHex;
                await writer.WriteEntryAsync(new System.Formats.Tar.GnuTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "base/1/16385")
                {
                    DataStream = new PgArchive.Backups.InspectingReadStream(new PgArchive.IO.FixedLengthReadStream(new MemoryStream(second), second.Length), null),
                }, Token);
            }

            tarBytes = counter.BytesTransferred;
        }

        var tar = await DecodeWithK4osAsync(stored.ToArray());
        Assert.Equal(tar.Length, tarBytes);
        Assert.Equal(XxHash64.HashToUInt64(tar), tarHash.GetCurrentHashAsUInt64());
        Assert.Equal(Convert.ToHexStringLower(XxHash128.Hash(first)), firstHash);
        using var reader = new System.Formats.Tar.TarReader(new MemoryStream(tar));
        foreach (var (name, content) in new[] { ("base/1/16384", first), ("base/1/16385", second) })
        {
            var entry = await reader.GetNextEntryAsync(copyData: true, Token);
            Assert.NotNull(entry);
            Assert.Equal(name, entry.Name);
            using var read = new MemoryStream();
            await entry.DataStream!.CopyToAsync(read, Token);
            Assert.True(Codecs.Same(content, read.ToArray()), $"{name} came out of the tar different");
        }

        Assert.Null(await reader.GetNextEntryAsync(copyData: false, Token));
        Assert.True(firstSource.LargestRead > 256 * 1024, $"the file was read in pieces of at most {firstSource.LargestRead} bytes, through a copy buffer");
    }

    private sealed class ReadSizeRecordingStream(byte[] content) : MemoryStream(content, writable: false)
    {
        public int LargestRead { get; private set; }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            LargestRead = Math.Max(LargestRead, buffer.Length);
            return base.ReadAsync(buffer, cancellationToken);
        }
    }

    private static byte[] Distinct(int length)
    {
        // Each 64 KiB differs from the others (so a reordered block shows) yet compresses (so blocks are real LZ4 blocks).
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = (byte)(i % 97 == 0 ? i >> 16 : i % 13);
        }

        return data;
    }

    private static async Task<byte[]> EncodeAsync(byte[] data, int parallelism, bool asynchronous)
    {
        using var stored = new MemoryStream();
        await Codecs.WriteAsync(new Lz4ParallelEncoderStream(stored, leaveOpen: true, parallelism), data, asynchronous);
        return stored.ToArray();
    }

    private static async Task<byte[]> DecodeWithK4osAsync(byte[] frame)
    {
        await using var decoder = LZ4Stream.Decode(new MemoryStream(frame));
        using var decoded = new MemoryStream();
        await decoder.CopyToAsync(decoded, Token);
        return decoded.ToArray();
    }

    private sealed class FailingAfterStream(long failAfter) : MemoryStream
    {
        public long Written { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Written + buffer.Length > failAfter)
            {
                throw new IOException("disk full");
            }

            Written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }
    }
}
