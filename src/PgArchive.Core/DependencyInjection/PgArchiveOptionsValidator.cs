using Microsoft.Extensions.Options;

namespace PgArchive.DependencyInjection;

/// <summary>Checks <see cref="PgArchiveOptions"/> at start-up; every failure names its setting.</summary>
internal sealed class PgArchiveOptionsValidator : IValidateOptions<PgArchiveOptions>
{
    public ValidateOptionsResult Validate(string? name, PgArchiveOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.CompressionMethod))
        {
            failures.Add("PgArchive:CompressionMethod (WALG_COMPRESSION_METHOD) must name a compression method, e.g. lz4.");
        }

        if (options.TarSizeThreshold < 1 << 20)
        {
            failures.Add($"PgArchive:TarSizeThreshold (WALG_TAR_SIZE_THRESHOLD) must be at least 1 MiB (1048576), not {options.TarSizeThreshold}.");
        }

        if (options.UploadConcurrency < 1)
        {
            failures.Add($"PgArchive:UploadConcurrency (WALG_UPLOAD_CONCURRENCY) must be at least 1, not {options.UploadConcurrency}.");
        }

        if (options.UploadDiskConcurrency < 1)
        {
            failures.Add($"PgArchive:UploadDiskConcurrency (WALG_UPLOAD_DISK_CONCURRENCY) must be at least 1, not {options.UploadDiskConcurrency}.");
        }

        if (options.DownloadConcurrency < 1)
        {
            failures.Add($"PgArchive:DownloadConcurrency (WALG_DOWNLOAD_CONCURRENCY) must be at least 1, not {options.DownloadConcurrency}.");
        }

        if (options.StoreRetries < 0)
        {
            failures.Add($"PgArchive:StoreRetries (PGARCHIVE_STORE_RETRIES) must be at least 0, not {options.StoreRetries}.");
        }

        if (options.StoreRetryDelay < TimeSpan.Zero)
        {
            failures.Add($"PgArchive:StoreRetryDelay (PGARCHIVE_STORE_RETRY_DELAY) must not be negative, not {options.StoreRetryDelay}.");
        }

        if (options.DiskRateLimit is < 1)
        {
            failures.Add($"PgArchive:DiskRateLimit (WALG_DISK_RATE_LIMIT) must be at least 1 byte per second when set, not {options.DiskRateLimit}.");
        }

        if (options.NetworkRateLimit is < 1)
        {
            failures.Add($"PgArchive:NetworkRateLimit (WALG_NETWORK_RATE_LIMIT) must be at least 1 byte per second when set, not {options.NetworkRateLimit}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
