namespace PgArchive.Compression;

/// <summary>LZ4 frame format (WAL-G's default, extension <c>.lz4</c>), written by <see cref="Lz4ParallelEncoderStream"/>, read by <see cref="Lz4FrameDecoderStream"/> (K4os.Compression.LZ4 blocks).</summary>
public sealed class Lz4Compressor : ICompressor
{
    /// <summary>
    /// Blocks of one stream compressed or decoded at once: every processor, up to four. Partitions in flight each have
    /// their own, so memory stays at partitions × (4 + 1) blocks of 1 MiB in and out, whatever the object's size.
    /// </summary>
    internal static int BlockParallelism => Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <inheritdoc />
    public string Method => "lz4";

    /// <inheritdoc />
    public string FileExtension => "lz4";

    /// <inheritdoc />
    /// <remarks>One frame of independent 1 MiB blocks with its content checksum, blocks compressed on up to <see cref="BlockParallelism"/> processors.</remarks>
    public Stream CreateCompressionStream(Stream destination, bool leaveOpen = false) =>
        new Lz4ParallelEncoderStream(destination, leaveOpen, BlockParallelism);

    /// <inheritdoc />
    /// <remarks>Any LZ4 frames: independent blocks decoded on up to <see cref="BlockParallelism"/> processors, every checksum the frames carry checked.</remarks>
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false) =>
        new Lz4FrameDecoderStream(source, leaveOpen, BlockParallelism);
}
