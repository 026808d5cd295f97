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

        if (settings.GetBoolean("WALG_VERIFY_PAGE_CHECKSUMS") is { } verifyPages)
        {
            options.VerifyPageChecksums = verifyPages;
        }

        if (settings.GetBoolean("WALG_STORE_ALL_CORRUPT_BLOCKS") is { } storeAll)
        {
            options.StoreAllCorruptBlocks = storeAll;
        }
    }

    /// <summary>wal-verify's windows: WALG_INTEGRITY_MAX_DELAYED_WALS (default 0) and WALG_UPLOAD_CONCURRENCY (default 16), as WAL-G reads them.</summary>
    public static (int Delayed, int Uploading) WalVerifyWindows(WalgSettings settings)
    {
        var delayed = settings.GetInt64("WALG_INTEGRITY_MAX_DELAYED_WALS") ?? 0;
        var uploading = settings.GetInt64("WALG_UPLOAD_CONCURRENCY") ?? 16;
        if (delayed is < 0 or > int.MaxValue)
        {
            throw new PgArchiveConfigurationException($"WALG_INTEGRITY_MAX_DELAYED_WALS must be 0 or more, not {delayed}.");
        }

        if (uploading is < 1 or > int.MaxValue)
        {
            throw new PgArchiveConfigurationException($"WALG_UPLOAD_CONCURRENCY must be 1 or more, not {uploading}.");
        }

        return ((int)delayed, (int)uploading);
    }

    public static void ConfigureStorage(IPgArchiveBuilder builder, WalgSettings settings) => StorageBackends.Configure(builder, settings);
}
