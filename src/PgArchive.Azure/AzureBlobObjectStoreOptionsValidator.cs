using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>
/// Checks <see cref="AzureBlobObjectStoreOptions"/> at start-up and reports every problem at once, each naming the
/// option and its WAL-G variable. Hand-written: the source-generated validator ignores <c>ErrorMessage</c> on
/// <c>[Range]</c> and prefixes member names.
/// </summary>
internal sealed class AzureBlobObjectStoreOptionsValidator(IServiceProviderIsService? services = null) : IValidateOptions<AzureBlobObjectStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, AzureBlobObjectStoreOptions options)
    {
        var errors = StoreSettingFailures(options);
        if (services?.IsService(typeof(BlobContainerClient)) != true)
        {
            ValidateConnection(options, errors);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// Refuses options the store cannot work with, for a store built by hand over the caller's container client
    /// (start-up validation covers the registered one): the same rules, not a second statement of them.
    /// </summary>
    internal static void ThrowIfInvalidForStore(AzureBlobObjectStoreOptions options) => OptionsFailures.ThrowIfAny(StoreSettingFailures(options));

    // Block size, concurrency, retries and timeouts: what the store and its client use, whoever built the client.
    private static List<string> StoreSettingFailures(AzureBlobObjectStoreOptions options)
    {
        var errors = new List<string>();
        if (options.BlockSize is < AzureBlobObjectStoreOptions.MinBlockSize or > AzureBlobObjectStoreOptions.MaxBlockSize)
        {
            errors.Add("AzureBlob:BlockSize (AZURE_BUFFER_SIZE) must be between 1 MiB and 256 MiB.");
        }

        if (options.MaxConcurrency is < 1 or > 64)
        {
            errors.Add("AzureBlob:MaxConcurrency (AZURE_MAX_BUFFERS) must be between 1 and 64.");
        }

        if (options.DeleteConcurrency is < 1 or > 256)
        {
            errors.Add("AzureBlob:DeleteConcurrency must be between 1 and 256.");
        }

        if (options.MaxRetries is < 0 or > 50)
        {
            errors.Add("AzureBlob:MaxRetries must be between 0 and 50.");
        }

        if (options.RetryDelay < TimeSpan.Zero || options.RetryDelay > TimeSpan.FromMinutes(10))
        {
            errors.Add("AzureBlob:RetryDelay must be between 0 and 10 minutes.");
        }

        if (options.MaxRetryDelay < options.RetryDelay || options.MaxRetryDelay > TimeSpan.FromHours(1))
        {
            errors.Add("AzureBlob:MaxRetryDelay must be between AzureBlob:RetryDelay and 1 hour.");
        }

        if (options.TryTimeout < TimeSpan.FromSeconds(1) || options.TryTimeout > TimeSpan.FromDays(1))
        {
            errors.Add("AzureBlob:TryTimeout (AZURE_TRY_TIMEOUT) must be between 1 second and 1 day.");
        }

        return errors;
    }

    // Container, endpoint and credentials: settings for a client the store builds itself.
    private static void ValidateConnection(AzureBlobObjectStoreOptions options, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(options.ContainerName))
        {
            errors.Add("AzureBlob:ContainerName is required: set WALG_AZ_PREFIX=azure://<container>/<folder> (or the option).");
        }

        if (string.IsNullOrWhiteSpace(options.EndpointSuffix))
        {
            errors.Add("AzureBlob:EndpointSuffix (AZURE_ENDPOINT_SUFFIX) must not be empty.");
        }

        var hasConnectionString = !string.IsNullOrWhiteSpace(options.ConnectionString);
        if (!hasConnectionString && !string.IsNullOrWhiteSpace(options.AccountKey) && string.IsNullOrWhiteSpace(options.AccountName))
        {
            errors.Add("AzureBlob:AccountName (AZURE_STORAGE_ACCOUNT) is required with an account key (AZURE_STORAGE_ACCESS_KEY).");
        }

        if (!hasConnectionString && options.ServiceUri is null && string.IsNullOrWhiteSpace(options.AccountName))
        {
            errors.Add("Azure Blob needs a storage account: set AZURE_STORAGE_ACCOUNT (AzureBlob:AccountName), a blob endpoint (AzureBlob:ServiceUri) or AZURE_STORAGE_CONNECTION_STRING.");
        }

        if (options.ServiceUri is { } uri && (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
        {
            errors.Add("AzureBlob:ServiceUri must be an absolute http(s) URI such as https://myaccount.blob.core.windows.net.");
        }
    }
}
