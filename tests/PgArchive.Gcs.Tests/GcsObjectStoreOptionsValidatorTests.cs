using Microsoft.Extensions.Options;
using PgArchive.Testing;

namespace PgArchive.Storage;

/// <summary>Each rule of <see cref="GcsObjectStoreOptionsValidator"/> alone, with its exact message; no server needed.</summary>
public sealed class GcsObjectStoreOptionsValidatorTests : OptionsValidatorContract<GcsObjectStoreOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "BucketName", "Gcs:BucketName is required: set WALG_GS_PREFIX=gs://<bucket>/<folder> (or the option)." },
        { "ChunkSize", "Gcs:ChunkSize (GCS_MAX_CHUNK_SIZE) must be between 256 KiB and 256 MiB." },
        { "ChunkSize granularity", "Gcs:ChunkSize (GCS_MAX_CHUNK_SIZE) must be a multiple of 256 KiB (262144 bytes)." },
        { "MaxRetries", "Gcs:MaxRetries (GCS_MAX_RETRIES) must be between 0 and 19." },
        { "DeleteConcurrency", "Gcs:DeleteConcurrency must be between 1 and 256." },
        { "RetryDelay", "Gcs:RetryDelay must be more than 0 and at most 1 minute." },
        { "MaxRetryDelay", "Gcs:MaxRetryDelay must be between Gcs:RetryDelay and 10 minutes." },
        { "RequestTimeout", "Gcs:RequestTimeout must be between 1 second and 1 day." },
        { "EmulatorHost", "Gcs:EmulatorHost (STORAGE_EMULATOR_HOST) excludes Gcs:Endpoint and Gcs:CredentialsPath: the emulator takes no credentials." },
        { "Endpoint", "Gcs:Endpoint must be an absolute http(s) URI such as https://storage.googleapis.com." },
    };

    protected override IValidateOptions<GcsObjectStoreOptions> Validator { get; } = new GcsObjectStoreOptionsValidator();

    protected override GcsObjectStoreOptions Valid() => new() { BucketName = "bucket" };

    protected override void Break(string rule, GcsObjectStoreOptions options)
    {
        switch (rule)
        {
            case "BucketName": options.BucketName = ""; break;
            case "ChunkSize": options.ChunkSize = 512 << 20; break;
            case "ChunkSize granularity": options.ChunkSize = GcsObjectStoreOptions.ChunkGranularity + 1; break;
            case "MaxRetries": options.MaxRetries = 20; break;
            case "DeleteConcurrency": options.DeleteConcurrency = 0; break;
            case "RetryDelay": options.RetryDelay = TimeSpan.Zero; break;
            case "MaxRetryDelay": options.MaxRetryDelay = TimeSpan.FromMinutes(11); break;
            case "RequestTimeout": options.RequestTimeout = TimeSpan.FromDays(2); break;
            case "EmulatorHost": options.EmulatorHost = "127.0.0.1:9023"; options.CredentialsPath = "/etc/gcs.json"; break;
            case "Endpoint": options.Endpoint = new Uri("ftp://storage.example.com"); break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }

    [Fact]
    public void Store_built_over_the_callers_client_refuses_options_that_break_a_rule()
    {
        using var client = Google.Cloud.Storage.V1.StorageClient.CreateUnauthenticated();

        var ex = Assert.Throws<PgArchiveConfigurationException>(() => new GcsObjectStore(client, new GcsObjectStoreOptions { BucketName = "bucket", ChunkSize = 1_000_000 }));

        Assert.Equal("Gcs:ChunkSize (GCS_MAX_CHUNK_SIZE) must be a multiple of 256 KiB (262144 bytes).", ex.Message);
    }
}
