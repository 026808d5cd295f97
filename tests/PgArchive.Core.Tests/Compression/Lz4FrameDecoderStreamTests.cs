using System.Buffers.Binary;
using K4os.Compression.LZ4.Streams;
using PgArchive.Support;

namespace PgArchive.Compression;

public sealed class Lz4FrameDecoderStreamTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> Writers() => ["ours", "independent 64 KiB", "linked 64 KiB", "lz4 tool: 4 MiB, block checksums, size", "no checksums"];

    [Theory]
    [MemberData(nameof(Writers))]
    public async Task Frames_of_every_shape_decode_to_what_was_written_in_uneven_reads(string writer)
    {
        var data = Codecs.Data(5 * Lz4ParallelEncoderStream.BlockSize + 777);
        var frame = await WriteAsync(writer, data);

        foreach (var parallelism in new[] { 1, 3 })
        {
            Assert.True(Codecs.Same(data, await DecodeAsync(frame, parallelism, asynchronous: true)), $"{writer}, parallelism {parallelism}, async");
            Assert.True(Codecs.Same(data, await DecodeAsync(frame, parallelism, asynchronous: false)), $"{writer}, parallelism {parallelism}, sync");
        }
    }

    [Fact]
    public async Task Concatenated_frames_with_a_skippable_frame_between_them_decode_one_after_the_other()
    {
        var first = await WriteAsync("ours", "first "u8.ToArray());
        var second = await WriteAsync("linked 64 KiB", "second"u8.ToArray());
        byte[] skippable = [0x5A, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3];

        var decoded = await DecodeAsync([.. first, .. skippable, .. second], parallelism: 2, asynchronous: true);

        Assert.Equal("first second"u8.ToArray(), decoded);
    }

    [Fact]
    public async Task An_empty_object_is_empty_content()
    {
        Assert.Empty(await DecodeAsync([], parallelism: 2, asynchronous: true));
    }

    [Theory]
    [InlineData("content", "content checksum")]
    [InlineData("header", "header checksum")]
    [InlineData("block", "block's checksum")]
    [InlineData("size", "its header records")]
    [InlineData("truncated", "truncated")]
    [InlineData("magic", "not the magic number")]
    [InlineData("trailing", "not the magic number")]
    public async Task Damage_is_reported_as_corrupt_data_naming_what_failed(string damage, string expected)
    {
        var data = Codecs.Data(300_000);
        var frame = damage switch
        {
            "block" => await WriteAsync("lz4 tool: 4 MiB, block checksums, size", data),
            "size" => await WriteAsync("lz4 tool: 4 MiB, block checksums, size", data),
            _ => await WriteAsync("ours", data),
        };
        switch (damage)
        {
            case "content":
                frame[^1] ^= 0x01;
                break;
            case "header":
                frame[6] ^= 0x01;
                break;
            case "block":
                frame[^20] ^= 0x01; // inside the last block's bytes: its checksum catches it before it is decoded
                break;
            case "size":
                BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(6), (ulong)data.Length + 1);
                frame[14] = HeaderChecksum(frame.AsSpan(4, 10));
                break;
            case "truncated":
                frame = frame[..^6];
                break;
            case "magic":
                frame[0] ^= 0x01;
                break;
            default:
                frame = [.. frame, 1, 2, 3, 4, 5];
                break;
        }

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => DecodeAsync(frame, parallelism: 2, asynchronous: true));

        Assert.StartsWith("The lz4 data is corrupt: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failure_of_the_stream_below_passes_unchanged()
    {
        var frame = await WriteAsync("ours", Codecs.Data(3 * Lz4ParallelEncoderStream.BlockSize));
        var source = new FailingReadStream(frame, failAt: frame.Length / 2);

        var error = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var decoder = new Lz4FrameDecoderStream(source, leaveOpen: false, parallelism: 2);
            await decoder.CopyToAsync(Stream.Null, Token);
        });

        Assert.Equal("connection reset", error.Message);
    }

    private static byte HeaderChecksum(ReadOnlySpan<byte> descriptor) => (byte)(K4os.Hash.xxHash.XXH32.DigestOf(descriptor) >> 8);

    private static async Task<byte[]> WriteAsync(string writer, byte[] data)
    {
        if (writer == "ours")
        {
            return await Codecs.CompressAsync(new Lz4Compressor(), data);
        }

        if (writer.StartsWith("lz4 tool", StringComparison.Ordinal))
        {
            // K4os writes neither block checksums nor the content size: the reference tool does.
            await DebianPackages.EnsureInstalledAsync("lz4");
            var input = Path.GetTempFileName();
            try
            {
                await File.WriteAllBytesAsync(input, data, Token);
                return (await ExternalTool.RunAsync("lz4", ["-c", "-B7", "-BX", "--content-size", input])).EnsureSuccess("lz4").Stdout;
            }
            finally
            {
                File.Delete(input);
            }
        }

        var settings = writer switch
        {
            "independent 64 KiB" => new LZ4EncoderSettings { ChainBlocks = false, BlockSize = 64 * 1024, ContentChecksum = true },
            "linked 64 KiB" => new LZ4EncoderSettings { ChainBlocks = true, BlockSize = 64 * 1024, ContentChecksum = true },
            _ => new LZ4EncoderSettings { ChainBlocks = false, BlockSize = 256 * 1024 },
        };
        using var stored = new MemoryStream();
        await using (var encoder = LZ4Stream.Encode(stored, settings, leaveOpen: true))
        {
            await encoder.WriteAsync(data, Token);
        }

        return stored.ToArray();
    }

    private static async Task<byte[]> DecodeAsync(byte[] frame, int parallelism, bool asynchronous)
    {
        await using var decoder = new Lz4FrameDecoderStream(new UnseekableMemory(frame), leaveOpen: false, parallelism);
        using var decoded = new MemoryStream();
        var buffer = new byte[70_001];
        var random = new Random(frame.Length);
        while (true)
        {
            var want = random.Next(1, buffer.Length);
            var read = asynchronous ? await decoder.ReadAsync(buffer.AsMemory(0, want), Token) : decoder.Read(buffer, 0, want);
            if (read == 0)
            {
                return decoded.ToArray();
            }

            decoded.Write(buffer, 0, read);
        }
    }

    private sealed class FailingReadStream(byte[] bytes, int failAt) : Stream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(Span<byte> buffer) => _inner.Position + buffer.Length > failAt
            ? throw new IOException("connection reset")
            : _inner.Read(buffer);

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
