namespace PgArchive.Compression;

/// <summary>
/// The reading half of a compression method: how objects stored with its extension are decoded. Every
/// <see cref="ICompressor"/> is one; a method PgArchive only reads (WAL-E's <c>.lzo</c>, <c>.gz</c>) is registered as
/// this alone, so it can never be chosen to write with. Stateless and thread-safe; streams with bounded memory.
/// </summary>
public interface IDecompressor
{
    /// <summary>The method's name, e.g. <c>lz4</c>.</summary>
    string Method { get; }

    /// <summary>The file extension objects of this method carry, without the dot (<c>lz4</c>); empty for no compression.</summary>
    string FileExtension { get; }

    /// <summary>
    /// A read-only stream of the decompressed content of <paramref name="source"/>. Damaged input (cut, altered,
    /// trailing bytes) that the format can detect fails with <see cref="InvalidDataException"/> (a cut may also be an
    /// <see cref="EndOfStreamException"/>), which callers report as a corrupt object; async reads pass their cancellation token on to <paramref name="source"/>.
    /// </summary>
    Stream CreateDecompressionStream(Stream source, bool leaveOpen = false);
}
