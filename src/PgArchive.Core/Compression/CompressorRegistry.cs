using Microsoft.Extensions.Options;

namespace PgArchive.Compression;

/// <summary>
/// The compressors PgArchive knows: the one new objects are written with (<see cref="PgArchiveOptions.CompressionMethod"/>),
/// and, for reading, the one an existing object needs, told by its extension, so archives written with
/// different methods over time restore in one go.
/// </summary>
public sealed class CompressorRegistry
{
    private readonly IReadOnlyList<ICompressor> _all;

    /// <summary>Creates the registry from every registered <see cref="ICompressor"/>.</summary>
    public CompressorRegistry(IEnumerable<ICompressor> compressors, IOptions<PgArchiveOptions> options)
    {
        ArgumentNullException.ThrowIfNull(compressors);
        ArgumentNullException.ThrowIfNull(options);
        _all = [.. compressors];
        var method = options.Value.CompressionMethod;
        Default = _all.FirstOrDefault(c => string.Equals(c.Method, method, StringComparison.OrdinalIgnoreCase))
            ?? throw new PgArchiveConfigurationException(
                $"Unknown compression method '{method}' (WALG_COMPRESSION_METHOD); known: {string.Join(", ", _all.Select(c => c.Method))}.");
    }

    /// <summary>The compressor new objects are written with.</summary>
    public ICompressor Default { get; }

    /// <summary>Every known compressor, the default first: the order in which readers probe extensions.</summary>
    public IEnumerable<ICompressor> ProbeOrder => _all.Where(c => c != Default).Prepend(Default);

    /// <summary>The compressor for a file extension without the dot ("" for none), or null when unknown.</summary>
    public ICompressor? FindByExtension(string extension) =>
        _all.FirstOrDefault(c => string.Equals(c.FileExtension, extension, StringComparison.Ordinal));

    /// <summary>Appends the compressor's extension to a name: <c>part_001.tar</c> → <c>part_001.tar.lz4</c>.</summary>
    public static string WithExtension(string name, ICompressor compressor)
    {
        ArgumentNullException.ThrowIfNull(compressor);
        return compressor.FileExtension.Length == 0 ? name : name + "." + compressor.FileExtension;
    }
}
