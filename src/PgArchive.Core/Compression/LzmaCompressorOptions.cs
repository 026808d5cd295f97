namespace PgArchive.Compression;

/// <summary>Settings of <see cref="LzmaCompressor"/>, bindable from configuration (section <c>PgArchive:Lzma</c>).</summary>
public sealed class LzmaCompressorOptions
{
    /// <summary>The dictionary size used when none is set: 8 MiB, the one WAL-G's encoder writes with.</summary>
    public const int DefaultDictionarySize = 8 << 20;

    /// <summary>The number of fast bytes used when none is set.</summary>
    public const int DefaultFastBytes = 32;

    /// <summary>
    /// The LZMA dictionary (window) size in bytes, 64 KiB to 256 MiB: larger finds matches further back at the
    /// cost of memory on both sides (a reader needs this much too).
    /// <value>Default 8 MiB, as WAL-G.</value>
    /// </summary>
    public int DictionarySize { get; set; } = DefaultDictionarySize;

    /// <summary>
    /// The encoder's "fast bytes" (longest match it looks for), 5 to 273: higher compresses a little better, slower.
    /// <value>Default 32.</value>
    /// </summary>
    public int FastBytes { get; set; } = DefaultFastBytes;
}
