using PgArchive.IO;

namespace PgArchive.Compression;

/// <summary>No compression: objects are stored as they are, without an extension (WAL-G's plain <c>.tar</c> / bare WAL name).</summary>
public sealed class NoCompressor : ICompressor
{
    /// <inheritdoc />
    public string Method => "none";

    /// <inheritdoc />
    public string FileExtension => "";

    /// <inheritdoc />
    public Stream CreateCompressionStream(Stream destination, bool leaveOpen = false) => PassThroughStream.Wrap(destination, leaveOpen);

    /// <inheritdoc />
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false) => PassThroughStream.Wrap(source, leaveOpen);
}
