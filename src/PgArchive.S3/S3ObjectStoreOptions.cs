namespace PgArchive.Storage;

/// <summary>
/// Options of <see cref="S3ObjectStore"/>: Amazon S3 or an S3-compatible server. Bindable from configuration
/// (section <c>S3</c>); the CLI fills them from WAL-G's variables, named beside each property.
/// </summary>
public sealed class S3ObjectStoreOptions
{
    /// <summary>WAL-G's default part size (<c>S3_MAX_PART_SIZE</c>): 20 MiB.</summary>
    public const int DefaultPartSize = 20 << 20;

    /// <summary>The bucket (the host part of <c>WALG_S3_PREFIX=s3://bucket/path</c>).</summary>
    public string Bucket { get; set; } = "";

    /// <summary>The path inside the bucket under which the archive lives (the path of <c>WALG_S3_PREFIX</c>); empty for the bucket's root.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>
    /// The endpoint of an S3-compatible server, e.g. <c>http://127.0.0.1:9000</c> (<c>AWS_ENDPOINT</c>).
    /// <value>Default: none, AWS's endpoint for <see cref="Region"/>.</value>
    /// </summary>
    public string? ServiceUrl { get; set; }

    /// <summary>
    /// Addresses the bucket in the path (<c>http://host/bucket/key</c>) instead of the host name (<c>AWS_S3_FORCE_PATH_STYLE</c>).
    /// Most S3-compatible servers need it. <value>Default false.</value>
    /// </summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>
    /// The region (<c>AWS_REGION</c>); with <see cref="ServiceUrl"/> it is the region requests are signed for.
    /// <value>Default: the SDK's (AWS_REGION, the profile), else <c>us-east-1</c>.</value>
    /// </summary>
    public string? Region { get; set; }

    /// <summary>Static access key id (<c>AWS_ACCESS_KEY_ID</c>). Without it the SDK's default credential chain is used.</summary>
    public string? AccessKeyId { get; set; }

    /// <summary>Static secret access key (<c>AWS_SECRET_ACCESS_KEY</c>). Never logged nor put in a message.</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>Session token of temporary credentials (<c>AWS_SESSION_TOKEN</c>).</summary>
    public string? SessionToken { get; set; }

    /// <summary>A named profile of <c>~/.aws/credentials</c> / <c>~/.aws/config</c> (<c>AWS_PROFILE</c>), used when no static key is set.</summary>
    public string? Profile { get; set; }

    /// <summary>Storage class of new objects, e.g. <c>STANDARD_IA</c> (<c>WALG_S3_STORAGE_CLASS</c>). <value>Default: the bucket's (STANDARD).</value></summary>
    public string? StorageClass { get; set; }

    /// <summary>Server-side encryption: <c>AES256</c> (SSE-S3) or <c>aws:kms</c> (SSE-KMS) (<c>WALG_S3_SSE</c>).</summary>
    public string? ServerSideEncryption { get; set; }

    /// <summary>The KMS key id or ARN for <c>aws:kms</c> (<c>WALG_S3_SSE_KMS_ID</c>); empty uses the account's default key.</summary>
    public string? SseKmsKeyId { get; set; }

    /// <summary>A PEM file of CA certificates trusted for the endpoint's TLS certificate, besides the system's (<c>WALG_S3_CA_CERT_FILE</c>).</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>
    /// Size of each multipart-upload part, and the largest object uploaded in a single PUT (<c>S3_MAX_PART_SIZE</c>).
    /// An upload holds at most <see cref="PartSize"/> × <see cref="MaxConcurrentParts"/> bytes in memory.
    /// Objects can have at most 10,000 parts, so the largest object is 10,000 × <see cref="PartSize"/>.
    /// <value>Default 20 MiB.</value>
    /// </summary>
    public int PartSize { get; set; } = DefaultPartSize;

    /// <summary>
    /// How many parts of one upload are in memory at once (filling one, uploading the others). Two keep the upload
    /// going while the next part fills; each more costs <see cref="PartSize"/> per partition in flight. <value>Default 2.</value>
    /// </summary>
    public int MaxConcurrentParts { get; set; } = 2;

    /// <summary>
    /// Retries of a failed request (throttling, 5xx, connection reset) by the SDK's standard retry mode, with
    /// exponential backoff and jitter (<c>S3_MAX_RETRIES</c>). <value>Default 5.</value>
    /// </summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>Timeout of one HTTP request. <value>Default: the SDK's (100 s).</value></summary>
    public TimeSpan? RequestTimeout { get; set; }

    /// <summary>
    /// Sends PutObject/UploadPart bodies as <c>aws-chunked</c> streaming payloads (the SDK's default). Turn off for
    /// servers that answer 501 to it, such as OpenStack Swift's s3api (<c>S3_USE_CHUNK_ENCODING=false</c>).
    /// <value>Default true.</value>
    /// </summary>
    public bool UseChunkEncoding { get; set; } = true;

    /// <summary>
    /// Sends CRC checksums only where the API requires them (the SDK's <c>WHEN_REQUIRED</c>), for servers that reject
    /// the SDK's default checksums (<c>S3_CHECKSUMS_WHEN_REQUIRED=true</c>). Every part still carries Content-MD5.
    /// <value>Default false.</value>
    /// </summary>
    public bool ChecksumsOnlyWhenRequired { get; set; }

    /// <summary>
    /// Deletes up to 1,000 keys per DeleteObjects request. When the server refuses DeleteObjects (Swift's s3api
    /// wants a Content-MD5 the SDK no longer sends), the store falls back to one DeleteObject per key by itself;
    /// false starts there (<c>S3_USE_BATCH_DELETE=false</c>). <value>Default true.</value>
    /// </summary>
    public bool UseBatchDelete { get; set; } = true;

    /// <summary>How create-only puts (<see cref="PutMode.CreateNew"/>, used by wal-push) are made. <value>Default <see cref="S3ConditionalWrites.Auto"/>.</value></summary>
    public S3ConditionalWrites ConditionalWrites { get; set; } = S3ConditionalWrites.Auto;
}

/// <summary>How <see cref="S3ObjectStore"/> keeps a create-only put from replacing an existing object.</summary>
public enum S3ConditionalWrites
{
    /// <summary>
    /// HEAD the key (an existing object fails at once, before any upload), then PUT with <c>If-None-Match: *</c>.
    /// Servers that honour the header (AWS since 2024) make the put atomic; a server that refuses it (501, as Swift's
    /// s3api does) gets <see cref="CheckThenPut"/> from then on; one that silently ignores it (s3rver) is covered by
    /// the HEAD check, with the race described there. Puts of one key are serialised within the process.
    /// </summary>
    Auto = 0,

    /// <summary>Only send <c>If-None-Match: *</c> on PutObject and CompleteMultipartUpload: atomic, the server decides, no HEAD. For AWS S3.</summary>
    IfNoneMatch,

    /// <summary>
    /// HEAD the key, then PUT if absent. Puts of the same key are serialised within this process, but two processes
    /// writing the same key at the same moment can both succeed (the later one wins): a race the server cannot close.
    /// </summary>
    CheckThenPut,
}
