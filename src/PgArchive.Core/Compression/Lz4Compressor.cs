namespace PgArchive.Compression;

/// <summary>LZ4 frame format (WAL-G's default, extension <c>.lz4</c>), written by <see cref="Lz4ParallelEncoderStream"/>, read by <see cref="Lz4FrameDecoderStream"/> (K4os.Compression.LZ4 blocks).</summary>
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
    /// <remarks>Any LZ4 frames: independent blocks decoded on every processor, every checksum the frames carry checked.</remarks>
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false) =>
        new Lz4FrameDecoderStream(source, leaveOpen, Environment.ProcessorCount);
}
