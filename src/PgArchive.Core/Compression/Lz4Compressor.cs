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
    /// <remarks>K4os reads the frame's content checksum without checking it: PgArchive checks it (one-frame objects).</remarks>
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false)
    {
        var frames = new Lz4FrameTracker(source, leaveOpen);
        var decoded = LZ4Stream.Decode(frames, new LZ4DecoderSettings { ExtraMemory = 0 }, leaveOpen: false, interactive: false);
        // K4os reports damaged blocks with whatever its decoder trips on (InvalidOperationException, ArgumentException, ...):
        // anything but what the layers below threw (storage, decryption, cancellation) is the codec's.
        return new DecompressionErrorStream(new Lz4ContentChecksumStream(decoded, frames), Method,
            ex => ex is not (InvalidDataException or OperationCanceledException or OutOfMemoryException) && !frames.Threw(ex));
    }
}
