using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>
/// Checks <see cref="GcsObjectStoreOptions"/> at start-up and reports every problem at once, each naming the option
/// and its WAL-G variable. Hand-written: the source-generated validator ignores <c>ErrorMessage</c> on <c>[Range]</c>
/// and prefixes member names.
/// </summary>
internal sealed class GcsObjectStoreOptionsValidator : IValidateOptions<GcsObjectStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, GcsObjectStoreOptions options)
    {
        var errors = StoreSettingFailures(options);
        if (!string.IsNullOrWhiteSpace(options.EmulatorHost) && (options.Endpoint is not null || !string.IsNullOrWhiteSpace(options.CredentialsPath)))
        {
            errors.Add("Gcs:EmulatorHost (STORAGE_EMULATOR_HOST) excludes Gcs:Endpoint and Gcs:CredentialsPath: the emulator takes no credentials.");
        }

        if (options.Endpoint is { } uri && (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
        {
            errors.Add("Gcs:Endpoint must be an absolute http(s) URI such as https://storage.googleapis.com.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// Refuses options the store cannot work with, for a store built by hand over the caller's client
    /// (start-up validation covers the registered one): the same rules, not a second statement of them.
    /// </summary>
    internal static void ThrowIfInvalidForStore(GcsObjectStoreOptions options) => OptionsFailures.ThrowIfAny(StoreSettingFailures(options));

    // Bucket, chunking, retries and timeouts: what the store uses whoever built its client.
    private static List<string> StoreSettingFailures(GcsObjectStoreOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BucketName))
        {
            errors.Add("Gcs:BucketName is required: set WALG_GS_PREFIX=gs://<bucket>/<folder> (or the option).");
        }

        if (options.ChunkSize is < GcsObjectStoreOptions.ChunkGranularity or > 256 << 20)
        {
            errors.Add("Gcs:ChunkSize (GCS_MAX_CHUNK_SIZE) must be between 256 KiB and 256 MiB.");
        }
        else if (options.ChunkSize % GcsObjectStoreOptions.ChunkGranularity != 0)
        {
            errors.Add("Gcs:ChunkSize (GCS_MAX_CHUNK_SIZE) must be a multiple of 256 KiB (262144 bytes).");
        }

        if (options.MaxRetries is < 0 or > 19)
        {
            errors.Add("Gcs:MaxRetries (GCS_MAX_RETRIES) must be between 0 and 19.");
        }

        if (options.DeleteConcurrency is < 1 or > 256)
        {
            errors.Add("Gcs:DeleteConcurrency must be between 1 and 256.");
        }

        if (options.RetryDelay <= TimeSpan.Zero || options.RetryDelay > TimeSpan.FromMinutes(1))
        {
            errors.Add("Gcs:RetryDelay must be more than 0 and at most 1 minute.");
        }

        if (options.MaxRetryDelay < options.RetryDelay || options.MaxRetryDelay > TimeSpan.FromMinutes(10))
        {
            errors.Add("Gcs:MaxRetryDelay must be between Gcs:RetryDelay and 10 minutes.");
        }

        if (options.RequestTimeout < TimeSpan.FromSeconds(1) || options.RequestTimeout > TimeSpan.FromDays(1))
        {
            errors.Add("Gcs:RequestTimeout must be between 1 second and 1 day.");
        }

        return errors;
    }
}
