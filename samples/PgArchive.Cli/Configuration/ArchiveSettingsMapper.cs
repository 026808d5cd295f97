using PgArchive.Cli.Storage;
using PgArchive.DependencyInjection;

namespace PgArchive.Cli.Configuration;

/// <summary>
/// The one place where WAL-G's variables become PgArchive's options: storage (through
/// <see cref="StorageBackends"/>), compression, partitioning.
/// </summary>
internal static class ArchiveSettingsMapper
{
    public static void Apply(WalgSettings settings, PgArchiveOptions options)
    {
        if (settings.Get("WALG_COMPRESSION_METHOD") is { } method)
        {
            options.CompressionMethod = method;
        }

        if (settings.GetInt64("WALG_TAR_SIZE_THRESHOLD") is { } threshold)
        {
            options.TarSizeThreshold = threshold;
        }
    }

    public static void ConfigureStorage(IPgArchiveBuilder builder, WalgSettings settings) => StorageBackends.Configure(builder, settings);
}
