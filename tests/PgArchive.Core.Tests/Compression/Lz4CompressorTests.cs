using System.Security.Cryptography;
using K4os.Compression.LZ4.Streams;

namespace PgArchive.Compression;

public sealed class Lz4CompressorTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Output_is_an_lz4_frame_with_the_frame_magic()
    {
        using var stored = new MemoryStream();
        await using (var compress = new Lz4Compressor().CreateCompressionStream(stored, leaveOpen: true))
        {
            await compress.WriteAsync("hello, wal"u8.ToArray(), Token);
        }

        Assert.Equal(new byte[] { 0x04, 0x22, 0x4D, 0x18 }, stored.ToArray()[..4]); // LZ4 frame magic 0x184D2204, little endian
        stored.Position = 0;
        await using var independent = LZ4Stream.Decode(stored); // the library's own frame decoder, no settings of ours
        using var reader = new StreamReader(independent);
        Assert.Equal("hello, wal", await reader.ReadToEndAsync(Token));
    }

    [Fact]
    public async Task No_single_flipped_byte_decodes_to_different_content_silently()
    {
        // K4os does not check the frame's content checksum; PgArchive does, so every flip fails one way or another.
        var data = Support.Codecs.Data(20_000);
        var compressor = new Lz4Compressor();
        var stored = await Support.Codecs.CompressAsync(compressor, data);
        var silent = new List<int>();
        for (var position = 0; position < stored.Length; position++)
        {
            var damaged = stored.ToArray();
            damaged[position] ^= 0x08;
            try
            {
                var decoded = await Support.Codecs.DecompressAsync(compressor, damaged);
                if (!decoded.AsSpan().SequenceEqual(data))
                {
                    silent.Add(position); // a few flips (e.g. in a match that copies equal bytes) change nothing decoded: harmless
                }
            }
            catch (InvalidDataException)
            {
            }
        }

        Assert.Empty(silent);
    }

    [Fact]
    public async Task Objects_written_by_earlier_versions_in_linked_64_KiB_blocks_still_decode()
    {
        // What PgArchive wrote before its own frame encoder: K4os' stream encoder, linked 64 KiB blocks, content checksum.
        var data = Support.Codecs.Data(1_000_000);
        using var stored = new MemoryStream();
        await using (var encoder = LZ4Stream.Encode(stored, new LZ4EncoderSettings { ChainBlocks = true, BlockSize = 64 * 1024, ContentChecksum = true }, leaveOpen: true))
        {
            await encoder.WriteAsync(data, Token);
        }

        Assert.True(Support.Codecs.Same(data, await Support.Codecs.DecompressAsync(new Lz4Compressor(), stored.ToArray())));
    }

    [Fact]
    public async Task Objects_of_several_frames_still_decode()
    {
        var compressor = new Lz4Compressor();
        var first = await Support.Codecs.CompressAsync(compressor, "first "u8.ToArray());
        var second = await Support.Codecs.CompressAsync(compressor, "second"u8.ToArray());

        var decoded = await Support.Codecs.DecompressAsync(compressor, [.. first, .. second]);

        Assert.Equal("first second"u8.ToArray(), decoded);
    }
}
