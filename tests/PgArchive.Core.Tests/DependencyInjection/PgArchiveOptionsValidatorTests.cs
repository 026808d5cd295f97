using Microsoft.Extensions.Options;
using PgArchive.Testing;

namespace PgArchive.DependencyInjection;

public sealed class PgArchiveOptionsValidatorTests : OptionsValidatorContract<PgArchiveOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "CompressionMethod", "PgArchive:CompressionMethod (WALG_COMPRESSION_METHOD) must name a compression method, e.g. lz4." },
        { "TarSizeThreshold", "PgArchive:TarSizeThreshold (WALG_TAR_SIZE_THRESHOLD) must be at least 1 MiB (1048576), not 1048575." },
        { "UploadConcurrency", "PgArchive:UploadConcurrency (WALG_UPLOAD_CONCURRENCY) must be at least 1, not 0." },
        { "UploadDiskConcurrency", "PgArchive:UploadDiskConcurrency (WALG_UPLOAD_DISK_CONCURRENCY) must be at least 1, not 0." },
        { "DownloadConcurrency", "PgArchive:DownloadConcurrency (WALG_DOWNLOAD_CONCURRENCY) must be at least 1, not 0." },
        { "StoreRetries", "PgArchive:StoreRetries (PGARCHIVE_STORE_RETRIES) must be at least 0, not -1." },
        { "StoreRetryDelay", "PgArchive:StoreRetryDelay (PGARCHIVE_STORE_RETRY_DELAY) must not be negative, not -00:00:01." },
        { "DiskRateLimit", "PgArchive:DiskRateLimit (WALG_DISK_RATE_LIMIT) must be at least 1 byte per second when set, not 0." },
        { "NetworkRateLimit", "PgArchive:NetworkRateLimit (WALG_NETWORK_RATE_LIMIT) must be at least 1 byte per second when set, not -1." },
    };

    protected override IValidateOptions<PgArchiveOptions> Validator { get; } = new PgArchiveOptionsValidator();

    protected override PgArchiveOptions Valid() => new();

    protected override void Break(string rule, PgArchiveOptions options)
    {
        switch (rule)
        {
            case "CompressionMethod": options.CompressionMethod = " "; break;
            case "TarSizeThreshold": options.TarSizeThreshold = (1 << 20) - 1; break;
            case "UploadConcurrency": options.UploadConcurrency = 0; break;
            case "UploadDiskConcurrency": options.UploadDiskConcurrency = 0; break;
            case "DownloadConcurrency": options.DownloadConcurrency = 0; break;
            case "StoreRetries": options.StoreRetries = -1; break;
            case "StoreRetryDelay": options.StoreRetryDelay = TimeSpan.FromSeconds(-1); break;
            case "DiskRateLimit": options.DiskRateLimit = 0; break;
            case "NetworkRateLimit": options.NetworkRateLimit = -1; break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }
}
