using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;

namespace PgArchive.Compression;

/// <summary>LZ4 frame format (WAL-G's default, extension <c>.lz4</c>), through K4os.Compression.LZ4.Streams.</summary>
public sealed class Lz4Compressor : ICompressor
{
    private static readonly LZ4EncoderSettings EncoderSettings = new()
    {
        CompressionLevel = LZ4Level.L00_FAST,
        ChainBlocks = true,
        BlockSize = 64 * 1024,
        ContentChecksum = true,
    };

    /// <inheritdoc />
    public string Method => "lz4";

    /// <inheritdoc />
    public string FileExtension => "lz4";

    /// <inheritdoc />
    public Stream CreateCompressionStream(Stream destination, bool leaveOpen = false) =>
        LZ4Stream.Encode(destination, EncoderSettings, leaveOpen);

    /// <inheritdoc />
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false) =>
        LZ4Stream.Decode(source, new LZ4DecoderSettings { ExtraMemory = 0 }, leaveOpen, interactive: false);
}
