using Microsoft.Extensions.DependencyInjection;
using PgArchive.Cli.Configuration;
using PgArchive.DependencyInjection;

namespace PgArchive.Cli.Storage;

/// <summary>
/// <c>WALG_GS_PREFIX=gs://bucket/folder</c> (also <c>WALE_GS_PREFIX</c>): Google Cloud Storage. Credentials:
/// application default credentials (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, gcloud's, or the metadata server's);
/// none with <c>STORAGE_EMULATOR_HOST</c>. Endpoint: <c>GCS_ENDPOINT</c> (PgArchive's) for a custom endpoint with
/// credentials. Tuning: WAL-G's <c>GCS_MAX_CHUNK_SIZE</c>, <c>GCS_MAX_RETRIES</c>.
/// </summary>
internal sealed class GcsBackend : IStorageBackend
{
    public string Name => "gcs";

    public IReadOnlyList<string> PrefixVariables { get; } = ["WALG_GS_PREFIX", "WALE_GS_PREFIX"];

    public void Configure(IPgArchiveBuilder builder, string prefix, WalgSettings settings)
    {
        var (bucket, folder) = AzureBlobBackend.ParsePrefix(prefix, ["gs"], "WALG_GS_PREFIX", "gs://bucket/folder");
        if (settings.Get("GCS_ENCRYPTION_KEY") is not null)
        {
            // Writing without the key would store the archive unencrypted; reading would fail.
            throw new PgArchiveConfigurationException(
                "GCS_ENCRYPTION_KEY (customer-supplied encryption keys) is not supported by pgarchive yet: unset it, or use the bucket's default or a KMS key.");
        }

        if (settings.GetBoolean("GCS_NORMALIZE_PREFIX") == false)
        {
            throw new PgArchiveConfigurationException("GCS_NORMALIZE_PREFIX=false (WAL-E's unnormalized prefixes) is not supported by pgarchive.");
        }

        settings.ExportToEnvironment(["GOOGLE_APPLICATION_CREDENTIALS"]);
        var endpoint = settings.Get("GCS_ENDPOINT") is { } text
            ? Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new PgArchiveConfigurationException($"GCS_ENDPOINT '{text}' must be an http(s) URI such as https://storage.googleapis.com.")
            : null;
        var chunkSize = settings.GetInt64("GCS_MAX_CHUNK_SIZE");
        var retries = settings.GetInt64("GCS_MAX_RETRIES");

        builder.UseGcs(o =>
        {
            o.BucketName = bucket;
            o.Prefix = folder;
            o.EmulatorHost = settings.Get("STORAGE_EMULATOR_HOST");
            o.Endpoint = o.EmulatorHost is null ? endpoint : null;
            if (chunkSize is { } size)
            {
                o.ChunkSize = (int)Math.Clamp(size, 0, int.MaxValue);
            }

            if (retries is { } count)
            {
                // WAL-G's default is 16; the SDK allows at most 19 retries per request.
                o.MaxRetries = (int)Math.Clamp(count, 0, 19);
            }
        });
    }
}
