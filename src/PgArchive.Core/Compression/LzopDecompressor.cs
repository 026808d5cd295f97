namespace PgArchive.Compression;

/// <summary>
/// Reads <c>.lzo</c> objects: the <c>lzop</c> file format WAL-E stored everything in (<c>lzop -c</c>), with PgArchive's
/// own LZO1X decoder (<see cref="Lzo1xBlock"/>): no native library. Read only: PgArchive writes WAL-G's methods.
/// </summary>
public sealed class LzopDecompressor : IDecompressor
{
    /// <inheritdoc />
    public string Method => "lzo";

    /// <inheritdoc />
    public string FileExtension => "lzo";

    /// <inheritdoc />
    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false) => new LzopDecoderStream(source, leaveOpen);
}
