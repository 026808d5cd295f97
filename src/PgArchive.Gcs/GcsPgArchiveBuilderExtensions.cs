using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="GcsObjectStore"/> as the archive's object store.</summary>
public static class GcsPgArchiveBuilderExtensions
{
    /// <summary>
    /// Stores the archive in Google Cloud Storage. Uses the <see cref="StorageClient"/> registered in the service
    /// collection if there is one (its owner configures credentials, endpoint and HTTP retries); otherwise builds one
    /// from <see cref="GcsObjectStoreOptions"/>.
    /// </summary>
    public static IPgArchiveBuilder UseGoogleCloudStorage(this IPgArchiveBuilder builder, Action<GcsObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<GcsObjectStoreOptions>().Configure(configure);
        return builder.UseGoogleCloudStorage();
    }

    /// <summary>Stores the archive in Google Cloud Storage configured by <paramref name="configuration"/> (e.g. the <c>PgArchive:Gcs</c> section).</summary>
    /// <remarks>Unknown keys in the section are errors, so a misspelt setting is not silently ignored.</remarks>
    public static IPgArchiveBuilder UseGoogleCloudStorage(this IPgArchiveBuilder builder, IConfigurationSection configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<GcsObjectStoreOptions>().Bind(configuration, o => o.ErrorOnUnknownConfiguration = true);
        return builder.UseGoogleCloudStorage();
    }

    /// <summary>Stores the archive in Google Cloud Storage with options configured elsewhere (and a registered <see cref="StorageClient"/>, if any).</summary>
    public static IPgArchiveBuilder UseGoogleCloudStorage(this IPgArchiveBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<GcsObjectStoreOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GcsObjectStoreOptions>, GcsObjectStoreOptionsValidator>());
        builder.Services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<GcsObjectStoreOptions>>().Value;
            return new GcsObjectStore(sp.GetService<StorageClient>() ?? GcsObjectStore.CreateClient(options), options, sp.GetService<ILogger<GcsObjectStore>>());
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<GcsObjectStore>()));
        return builder;
    }
}

/// <summary>
/// Checks <see cref="GcsObjectStoreOptions"/> at start-up and reports every problem at once, each naming the option
/// and its WAL-G variable. Hand-written: the source-generated validator ignores <c>ErrorMessage</c> on <c>[Range]</c>
/// and prefixes member names.
/// </summary>
internal sealed class GcsObjectStoreOptionsValidator : IValidateOptions<GcsObjectStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, GcsObjectStoreOptions options)
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
}
