using Microsoft.Extensions.Options;
using PgArchive.Testing;

namespace PgArchive.Storage;

/// <summary>Each rule of <see cref="AzureBlobObjectStoreOptionsValidator"/> alone, with its exact message; no server needed.</summary>
public sealed class AzureBlobObjectStoreOptionsValidatorTests : OptionsValidatorContract<AzureBlobObjectStoreOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "BlockSize", "AzureBlob:BlockSize (AZURE_BUFFER_SIZE) must be between 1 MiB and 256 MiB." },
        { "MaxConcurrency", "AzureBlob:MaxConcurrency (AZURE_MAX_BUFFERS) must be between 1 and 64." },
        { "DeleteConcurrency", "AzureBlob:DeleteConcurrency must be between 1 and 256." },
        { "MaxRetries", "AzureBlob:MaxRetries must be between 0 and 50." },
        { "RetryDelay", "AzureBlob:RetryDelay must be between 0 and 10 minutes." },
        { "MaxRetryDelay", "AzureBlob:MaxRetryDelay must be between AzureBlob:RetryDelay and 1 hour." },
        { "TryTimeout", "AzureBlob:TryTimeout (AZURE_TRY_TIMEOUT) must be between 1 second and 1 day." },
        { "ContainerName", "AzureBlob:ContainerName is required: set WALG_AZ_PREFIX=azure://<container>/<folder> (or the option)." },
        { "EndpointSuffix", "AzureBlob:EndpointSuffix (AZURE_ENDPOINT_SUFFIX) must not be empty." },
        { "AccountName with an account key", "AzureBlob:AccountName (AZURE_STORAGE_ACCOUNT) is required with an account key (AZURE_STORAGE_ACCESS_KEY)." },
        { "a storage account", "Azure Blob needs a storage account: set AZURE_STORAGE_ACCOUNT (AzureBlob:AccountName), a blob endpoint (AzureBlob:ServiceUri) or AZURE_STORAGE_CONNECTION_STRING." },
        { "ServiceUri", "AzureBlob:ServiceUri must be an absolute http(s) URI such as https://myaccount.blob.core.windows.net." },
    };

    protected override IValidateOptions<AzureBlobObjectStoreOptions> Validator { get; } = new AzureBlobObjectStoreOptionsValidator();

    protected override AzureBlobObjectStoreOptions Valid() => new() { ContainerName = "container", AccountName = "account" };

    protected override void Break(string rule, AzureBlobObjectStoreOptions options)
    {
        switch (rule)
        {
            case "BlockSize": options.BlockSize = AzureBlobObjectStoreOptions.MinBlockSize - 1; break;
            case "MaxConcurrency": options.MaxConcurrency = 0; break;
            case "DeleteConcurrency": options.DeleteConcurrency = 257; break;
            case "MaxRetries": options.MaxRetries = 51; break;
            case "RetryDelay": options.RetryDelay = TimeSpan.FromSeconds(-1); break;
            case "MaxRetryDelay": options.MaxRetryDelay = TimeSpan.FromHours(2); break;
            case "TryTimeout": options.TryTimeout = TimeSpan.Zero; break;
            case "ContainerName": options.ContainerName = " "; break;
            case "EndpointSuffix": options.EndpointSuffix = ""; break;
            case "AccountName with an account key":
                options.AccountName = null;
                options.AccountKey = "a2V5";
                options.ServiceUri = new Uri("https://account.blob.core.windows.net");
                break;
            case "a storage account": options.AccountName = null; break;
            case "ServiceUri": options.ServiceUri = new Uri("ftp://account.blob.core.windows.net"); break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }

    [Fact]
    public void Store_built_over_the_callers_client_refuses_options_that_break_a_rule()
    {
        var client = new Azure.Storage.Blobs.BlobContainerClient(new Uri("http://127.0.0.1:1/account/container"));

        var ex = Assert.Throws<PgArchiveConfigurationException>(() => new AzureBlobObjectStore(client, new AzureBlobObjectStoreOptions { BlockSize = 1000 }));

        Assert.Equal("AzureBlob:BlockSize (AZURE_BUFFER_SIZE) must be between 1 MiB and 256 MiB.", ex.Message);
    }
}
