namespace PgArchive.Storage;

/// <summary>
/// Options of <see cref="AzureBlobObjectStore"/>, bindable from configuration (section <c>PgArchive:AzureBlob</c> by
/// convention). Credentials are tried in this order: <see cref="ConnectionString"/>, <see cref="AccountKey"/>,
/// <see cref="SasToken"/>, a <c>TokenCredential</c> registered in the service collection (or passed to
/// <see cref="AzureBlobObjectStore.CreateContainerClient"/>), and otherwise <c>DefaultAzureCredential</c> (environment
/// <c>AZURE_CLIENT_ID</c>/<c>AZURE_TENANT_ID</c>/<c>AZURE_CLIENT_SECRET</c>, workload identity, managed identity, ...).
/// None of them is ever logged or put into an exception message.
/// </summary>
public sealed class AzureBlobObjectStoreOptions
{
    /// <summary>The smallest block size accepted: 1 MiB.</summary>
    public const int MinBlockSize = 1 << 20;

    /// <summary>The largest block size accepted: 256 MiB (the service allows 4000 MiB; memory is block size × (concurrency + 1)).</summary>
    public const int MaxBlockSize = 256 << 20;

    /// <summary>
    /// The container that holds the archive (the first segment of WAL-G's <c>WALG_AZ_PREFIX</c>,
    /// <c>azure://container/path</c>). Required unless a <c>BlobContainerClient</c> is registered in the container.
    /// </summary>
    public string ContainerName { get; set; } = "";

    /// <summary>
    /// The folder inside the container that is the archive's root (the rest of <c>WALG_AZ_PREFIX</c>), without
    /// leading or trailing '/'. <value>Default: empty, the container's root.</value>
    /// </summary>
    public string Prefix { get; set; } = "";

    /// <summary>
    /// A storage connection string (<c>AZURE_STORAGE_CONNECTION_STRING</c>): account key or SAS plus endpoints.
    /// Takes precedence over every other credential setting. Azurite's looks like
    /// <c>DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The storage account name (<c>AZURE_STORAGE_ACCOUNT</c>); required unless <see cref="ConnectionString"/> or <see cref="ServiceUri"/> is set.</summary>
    public string? AccountName { get; set; }

    /// <summary>The account's shared key, base64 (<c>AZURE_STORAGE_ACCESS_KEY</c>). Needs <see cref="AccountName"/>.</summary>
    public string? AccountKey { get; set; }

    /// <summary>A shared access signature, with or without its leading '?' (<c>AZURE_STORAGE_SAS_TOKEN</c>).</summary>
    public string? SasToken { get; set; }

    /// <summary>
    /// The blob service endpoint, e.g. <c>https://myaccount.blob.core.windows.net</c> or Azurite's
    /// <c>http://127.0.0.1:10000/devstoreaccount1</c>. <value>Default: <c>https://{AccountName}.blob.{EndpointSuffix}</c>.</value>
    /// </summary>
    public Uri? ServiceUri { get; set; }

    /// <summary>
    /// The DNS suffix of the cloud's storage endpoints (<c>AZURE_ENDPOINT_SUFFIX</c>), used when <see cref="ServiceUri"/>
    /// is not set. <value>Default: <c>core.windows.net</c>; <c>core.usgovcloudapi.net</c>, <c>core.chinacloudapi.cn</c> for sovereign clouds.</value>
    /// </summary>
    public string EndpointSuffix { get; set; } = "core.windows.net";

    /// <summary>
    /// The client id of a user-assigned managed identity for <c>DefaultAzureCredential</c> (else <c>AZURE_CLIENT_ID</c>
    /// is read by the credential itself).
    /// </summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>
    /// Size of one block of a staged upload (<c>AZURE_BUFFER_SIZE</c>); objects up to this size go up in one request.
    /// Memory per upload is at most <see cref="BlockSize"/> × (<see cref="MaxConcurrency"/> + 1).
    /// A blob holds at most 50,000 blocks: 8 MiB blocks allow objects up to 390 GiB.
    /// <value>Default 8 MiB (WAL-G's).</value>
    /// </summary>
    public int BlockSize { get; set; } = 8 << 20;

    /// <summary>Blocks of one upload staged in parallel (<c>AZURE_MAX_BUFFERS</c>). <value>Default 4 (WAL-G's).</value></summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>Deletes sent in parallel by <see cref="AzureBlobObjectStore.DeleteAsync"/>. <value>Default 16.</value></summary>
    public int DeleteConcurrency { get; set; } = 16;

    /// <summary>
    /// How often the SDK retries a request that failed with a throttling (429, 503), server (500, 502, 504) or network
    /// error, with exponential back-off and jitter. <value>Default 5.</value>
    /// </summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>The first retry's back-off; later ones double it, with jitter. <value>Default 0.8 s; at most 10 minutes.</value></summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(0.8);

    /// <summary>The longest back-off between two tries. <value>Default 1 minute; at most 1 hour.</value></summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long one try may take before it is abandoned and retried (WAL-G's <c>AZURE_TRY_TIMEOUT</c>, in minutes there).
    /// <value>Default 5 minutes; between 1 second and 1 day.</value>
    /// </summary>
    public TimeSpan TryTimeout { get; set; } = TimeSpan.FromMinutes(5);
}
