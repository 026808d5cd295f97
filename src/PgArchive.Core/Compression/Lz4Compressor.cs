using K4os.Compression.LZ4.Streams;

namespace PgArchive.Compression;

/// <summary>LZ4 frame format (WAL-G's default, extension <c>.lz4</c>), compressed by <see cref="Lz4ParallelEncoderStream"/>, read by K4os.Compression.LZ4.Streams.</summary>
public sealed class Lz4Compressor : ICompressor
{
    /// <inheritdoc />
    public string Method => "lz4";

    /// <inheritdoc />
    public string FileExtension => "lz4";

    /// <inheritdoc />
    /// <remarks>One frame of independent 1 MiB blocks with its content checksum, blocks compressed on every processor.</remarks>
    public Stream CreateCompressionStream(Stream destination, bool leaveOpen = false) =>
        new Lz4ParallelEncoderStream(destination, leaveOpen, Environment.ProcessorCount);

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
