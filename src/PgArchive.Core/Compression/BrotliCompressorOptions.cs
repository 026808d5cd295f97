namespace PgArchive.Compression;

/// <summary>Settings of <see cref="BrotliCompressor"/>, bindable from configuration (section <c>PgArchive:Brotli</c>).</summary>
public sealed class BrotliCompressorOptions
{
    /// <summary>The quality used when none is set: 3, the one WAL-G writes with.</summary>
    public const int DefaultQuality = 3;

    /// <summary>
    /// The brotli quality, 0 (fastest) to 11 (smallest, and very slow).
    /// <value>Default 3, as WAL-G.</value>
    /// </summary>
    public int Quality { get; set; } = DefaultQuality;
}
