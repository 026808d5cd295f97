namespace PgArchive.Compression;

/// <summary>
/// One compression method as WAL-G names it, both ways. Stateless and thread-safe; both directions stream with
/// bounded memory.
/// </summary>
public interface ICompressor : IDecompressor
{
    /// <summary>A write-only stream that compresses into <paramref name="destination"/>; disposing it writes the trailer.</summary>
    Stream CreateCompressionStream(Stream destination, bool leaveOpen = false);
}
