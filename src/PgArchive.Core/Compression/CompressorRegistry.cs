using Microsoft.Extensions.Options;

namespace PgArchive.Compression;

/// <summary>
/// The compressors PgArchive knows: the one new objects are written with (<see cref="PgArchiveOptions.CompressionMethod"/>),
/// and, for reading, the one an existing object needs, told by its extension, so archives written with
/// different methods over time restore in one go. Methods registered only as <see cref="IDecompressor"/> (WAL-E's
/// <c>.lzo</c>, <c>.gz</c>) are read, never written.
/// </summary>
public sealed class CompressorRegistry
{
    private readonly IReadOnlyList<ICompressor> _all;
    private readonly IReadOnlyList<IDecompressor> _readers;

    /// <summary>Creates the registry from every registered <see cref="ICompressor"/> and read-only <see cref="IDecompressor"/>.</summary>
    public CompressorRegistry(IEnumerable<ICompressor> compressors, IEnumerable<IDecompressor> decompressors, IOptions<PgArchiveOptions> options)
    {
        ArgumentNullException.ThrowIfNull(compressors);
        ArgumentNullException.ThrowIfNull(decompressors);
        ArgumentNullException.ThrowIfNull(options);
        _all = [.. compressors];
        _readers = [.. _all, .. decompressors.Where(d => d is not ICompressor)];
        var method = options.Value.CompressionMethod;
        Default = _all.FirstOrDefault(c => string.Equals(c.Method, method, StringComparison.OrdinalIgnoreCase))
            ?? throw new PgArchiveConfigurationException(
                _readers.Any(r => string.Equals(r.Method, method, StringComparison.OrdinalIgnoreCase))
                    ? $"Compression method '{method}' (WALG_COMPRESSION_METHOD) is read, never written: pgarchive restores .{method} objects whatever this setting says; write with one of {string.Join(", ", _all.Select(c => c.Method))}."
                    : $"Unknown compression method '{method}' (WALG_COMPRESSION_METHOD); known: {string.Join(", ", _all.Select(c => c.Method))}.");
    }

    /// <summary>Creates the registry from compressors alone.</summary>
    public CompressorRegistry(IEnumerable<ICompressor> compressors, IOptions<PgArchiveOptions> options) : this(compressors, [], options)
    {
    }

    /// <summary>The compressor new objects are written with.</summary>
    public ICompressor Default { get; }

    /// <summary>Every method objects are read with, the default first: the order in which readers probe extensions.</summary>
    public IEnumerable<IDecompressor> ProbeOrder => _readers.Where(c => c != Default).Prepend(Default);

    /// <summary>The decompressor for a file extension without the dot ("" for none), or null when unknown.</summary>
    public IDecompressor? FindByExtension(string extension) =>
        _readers.FirstOrDefault(c => string.Equals(c.FileExtension, extension, StringComparison.Ordinal));

    /// <summary>Appends the compressor's extension to a name: <c>part_001.tar</c> → <c>part_001.tar.lz4</c>.</summary>
    public static string WithExtension(string name, ICompressor compressor)
    {
        ArgumentNullException.ThrowIfNull(compressor);
        return compressor.FileExtension.Length == 0 ? name : name + "." + compressor.FileExtension;
    }
}
