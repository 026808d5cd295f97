using System.Globalization;

namespace PgArchive.Compression;

/// <summary>Settings of <see cref="ZstdCompressor"/>, bindable from configuration (section <c>PgArchive:Zstd</c>).</summary>
public sealed class ZstdCompressorOptions
{
    /// <summary>The level used when none is set: zstd's own default, which WAL-G's <c>default</c> also corresponds to.</summary>
    public const int DefaultLevel = 3;

    /// <summary>
    /// The zstd compression level, 1 (fastest) to 22 (smallest). Levels above 19 need much more memory to
    /// compress and up to 128 MiB to decompress.
    /// <value>Default 3.</value>
    /// </summary>
    public int Level { get; set; } = DefaultLevel;

    /// <summary>
    /// Reads a <c>WALG_ZSTD_LEVEL</c> value: WAL-G's names <c>fastest</c>, <c>default</c>, <c>better</c>, <c>best</c>
    /// (the zstd levels 1, 3, 7 and 11 that WAL-G's encoder levels approximate), or a number from 1 to 22.
    /// </summary>
    /// <exception cref="PgArchiveConfigurationException">The value is neither.</exception>
    public static int ParseLevel(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var trimmed = value.Trim();
        switch (trimmed.ToUpperInvariant())
        {
            case "FASTEST":
                return 1;
            case "DEFAULT":
                return DefaultLevel;
            case "BETTER":
                return 7;
            case "BEST":
                return 11;
        }

        if (int.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out var level) && level is >= 1 and <= 22)
        {
            return level;
        }

        throw new PgArchiveConfigurationException(
            $"WALG_ZSTD_LEVEL '{value}' is not a zstd level: use fastest, default, better, best or a number from 1 to 22.");
    }
}
