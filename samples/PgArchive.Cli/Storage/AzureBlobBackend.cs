using Microsoft.Extensions.DependencyInjection;
using PgArchive.Cli.Configuration;
using PgArchive.DependencyInjection;

namespace PgArchive.Cli.Storage;

/// <summary>
/// <c>WALG_AZ_PREFIX=azure://container/folder</c> (also WAL-E's <c>WALE_WABS_PREFIX=wabs://container/folder</c>):
/// Azure Blob Storage. Credentials, first found wins: <c>AZURE_STORAGE_CONNECTION_STRING</c>,
/// <c>AZURE_STORAGE_ACCOUNT</c> + <c>AZURE_STORAGE_ACCESS_KEY</c>, <c>AZURE_STORAGE_SAS_TOKEN</c>, then
/// <c>DefaultAzureCredential</c> (<c>AZURE_CLIENT_ID</c>/<c>AZURE_TENANT_ID</c>/<c>AZURE_CLIENT_SECRET</c>, workload or
/// managed identity). Endpoint: <c>AZURE_STORAGE_BLOB_ENDPOINT</c> (PgArchive's), else
/// <c>https://$AZURE_STORAGE_ACCOUNT.blob.$AZURE_ENDPOINT_SUFFIX</c>.
/// </summary>
internal sealed class AzureBlobBackend : IStorageBackend
{
    /// <summary>Read by Azure.Identity from the process environment: exported when they come from a config file or envdir.</summary>
    private static readonly string[] IdentityVariables =
        ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"];

    public string Name => "azure";

    public IReadOnlyList<string> PrefixVariables { get; } = ["WALG_AZ_PREFIX", "WALE_WABS_PREFIX"];

    public void Configure(IPgArchiveBuilder builder, string prefix, WalgSettings settings)
    {
        var (container, folder) = ParsePrefix(prefix, ["azure", "wabs"], "WALG_AZ_PREFIX", "azure://container/folder");
        settings.ExportToEnvironment(IdentityVariables);
        var endpoint = settings.Get("AZURE_STORAGE_BLOB_ENDPOINT") is { } text
            ? Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new PgArchiveConfigurationException($"AZURE_STORAGE_BLOB_ENDPOINT '{text}' must be an http(s) URI such as https://myaccount.blob.core.windows.net.")
            : null;
        var suffix = settings.Get("AZURE_ENDPOINT_SUFFIX") ?? settings.Get("AZURE_ENVIRONMENT_NAME") switch
        {
            null or "AzurePublicCloud" => "core.windows.net",
            "AzureUSGovernmentCloud" => "core.usgovcloudapi.net",
            "AzureChinaCloud" => "core.chinacloudapi.cn",
            "AzureGermanCloud" => "core.cloudapi.de",
            var other => throw new PgArchiveConfigurationException(
                $"AZURE_ENVIRONMENT_NAME '{other}' must be AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud or AzureGermanCloud (or set AZURE_ENDPOINT_SUFFIX)."),
        };
        var blockSize = settings.GetInt64("AZURE_BUFFER_SIZE");
        var buffers = settings.GetInt64("AZURE_MAX_BUFFERS");
        var tryTimeoutMinutes = settings.GetInt64("AZURE_TRY_TIMEOUT");

        builder.UseAzureBlob(o =>
        {
            o.ContainerName = container;
            o.Prefix = folder;
            o.ConnectionString = settings.Get("AZURE_STORAGE_CONNECTION_STRING");
            o.AccountName = settings.Get("AZURE_STORAGE_ACCOUNT");
            o.AccountKey = settings.GetFirst("AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_KEY");
            o.SasToken = settings.Get("AZURE_STORAGE_SAS_TOKEN");
            o.ServiceUri = endpoint;
            o.EndpointSuffix = suffix;
            o.ManagedIdentityClientId = settings.Get("AZURE_CLIENT_ID");
            if (blockSize is { } size)
            {
                // WAL-G accepts any size from 1 KiB; blocks here are 1-256 MiB.
                o.BlockSize = (int)Math.Clamp(size, PgArchive.Storage.AzureBlobObjectStoreOptions.MinBlockSize, PgArchive.Storage.AzureBlobObjectStoreOptions.MaxBlockSize);
            }

            if (buffers is { } count)
            {
                o.MaxConcurrency = (int)Math.Clamp(count, 1, 64);
            }

            if (tryTimeoutMinutes is { } minutes)
            {
                o.TryTimeout = TimeSpan.FromMinutes(Math.Clamp(minutes, 1, 24 * 60));
            }
        });
    }

    /// <summary>Splits <c>scheme://container/folder</c>; the message names the variable and an example.</summary>
    internal static (string Container, string Folder) ParsePrefix(string prefix, string[] schemes, string variable, string example)
    {
        var separator = prefix.IndexOf("://", StringComparison.Ordinal);
        var scheme = separator > 0 ? prefix[..separator] : "";
        if (!schemes.Contains(scheme, StringComparer.OrdinalIgnoreCase))
        {
            throw new PgArchiveConfigurationException($"{variable} '{prefix}' must look like {example} (scheme {string.Join(" or ", schemes.Select(s => s + "://"))}).");
        }

        var rest = prefix[(separator + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? rest : rest[..slash];
        var folder = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (container.Length == 0)
        {
            throw new PgArchiveConfigurationException($"{variable} '{prefix}' names no container or bucket: it must look like {example}.");
        }

        return (container, folder);
    }
}
