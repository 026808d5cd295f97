namespace PgArchive.Storage;

/// <summary>
/// Options of <see cref="GcsObjectStore"/>, bindable from configuration (section <c>PgArchive:Gcs</c> by convention).
/// Credentials: <see cref="CredentialsPath"/> if set, else application default credentials
/// (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, the gcloud user's, or the metadata server's on Google Cloud);
/// none with <see cref="EmulatorHost"/>. No credential is ever logged or put into an exception message.
/// </summary>
public sealed class GcsObjectStoreOptions
{
    /// <summary>The granularity of resumable upload chunks the service requires: 256 KiB.</summary>
    public const int ChunkGranularity = 256 << 10;

    /// <summary>
    /// The bucket that holds the archive (the first segment of WAL-G's <c>WALG_GS_PREFIX</c>, <c>gs://bucket/path</c>).
    /// Required, also when the application registers its own <c>StorageClient</c>.
    /// </summary>
    public string BucketName { get; set; } = "";

    /// <summary>
    /// The folder inside the bucket that is the archive's root (the rest of <c>WALG_GS_PREFIX</c>), without leading or
    /// trailing '/'. <value>Default: empty, the bucket's root.</value>
    /// </summary>
    public string Prefix { get; set; } = "";

    /// <summary>
    /// A service-account key file (JSON) to authenticate with instead of application default credentials. Only
    /// service-account keys are accepted here; other credential files (workload identity federation, user credentials)
    /// work through <c>GOOGLE_APPLICATION_CREDENTIALS</c>.
    /// </summary>
    public string? CredentialsPath { get; set; }

    /// <summary>
    /// The host (and port) of a Cloud Storage emulator, as in <c>STORAGE_EMULATOR_HOST</c>: <c>127.0.0.1:4443</c> or
    /// <c>http://127.0.0.1:4443</c>. Requests then go to <c>{EmulatorHost}/storage/v1/</c> without credentials.
    /// </summary>
    public string? EmulatorHost { get; set; }

    /// <summary>
    /// A custom JSON API endpoint used with credentials (e.g. a private service connect endpoint):
    /// <c>https://storage-xyz.p.googleapis.com</c>; <c>/storage/v1/</c> is appended when the URI has no path.
    /// <value>Default: Google's public endpoint.</value>
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// Size of one chunk of a resumable upload (<c>GCS_MAX_CHUNK_SIZE</c>), a multiple of 256 KiB. An upload holds
    /// about one chunk in memory, whatever the object's length. <value>Default 16 MiB.</value>
    /// </summary>
    public int ChunkSize { get; set; } = 16 << 20;

    /// <summary>
    /// How often a request that failed with 408, 429, 500, 502, 503, 504 or a network error is retried, with exponential
    /// back-off (<c>GCS_MAX_RETRIES</c>). Applies to reads, listings, metadata, deletes and each upload chunk; the
    /// SDK allows at most 19. <value>Default 6.</value>
    /// </summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>The first retry's back-off; later ones double it, with jitter. <value>Default 1 s; at most 1 minute.</value></summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest back-off between two tries. <value>Default 32 s; at most 10 minutes.</value></summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(32);

    /// <summary>How long one HTTP request may take. <value>Default 5 minutes; between 1 second and 1 day.</value></summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Deletes sent in parallel by <see cref="GcsObjectStore.DeleteAsync"/>. <value>Default 16.</value></summary>
    public int DeleteConcurrency { get; set; } = 16;
}
