namespace PgArchive.Compression;

/// <summary>
/// One compression method as WAL-G names it. Stateless and thread-safe; both directions stream with
/// bounded memory.
/// </summary>
public interface ICompressor
{
    /// <summary>The method's name in <c>WALG_COMPRESSION_METHOD</c>, e.g. <c>lz4</c>.</summary>
    string Method { get; }

    /// <summary>The file extension WAL-G appends, without the dot (<c>lz4</c>); empty for no compression.</summary>
    string FileExtension { get; }

    /// <summary>A write-only stream that compresses into <paramref name="destination"/>; disposing it writes the trailer.</summary>
    Stream CreateCompressionStream(Stream destination, bool leaveOpen = false);

    /// <summary>A read-only stream of the decompressed content of <paramref name="source"/>.</summary>
    Stream CreateDecompressionStream(Stream source, bool leaveOpen = false);
}
