namespace PgArchive.Storage;

/// <summary>
/// Options of <see cref="SwiftObjectStore"/>: an OpenStack Swift container. Bindable from configuration (section
/// <c>Swift</c>); the CLI fills them from the <c>OS_*</c> variables (WAL-G) or WAL-E's <c>SWIFT_*</c> ones.
/// </summary>
public sealed class SwiftObjectStoreOptions
{
    /// <summary>The default segment size of Static Large Objects, also the largest object sent in one PUT: 20 MiB.</summary>
    public const int DefaultSegmentSize = 20 << 20;

    /// <summary>
    /// The authentication endpoint (<c>OS_AUTH_URL</c>, <c>SWIFT_AUTHURL</c>): Keystone v3
    /// (<c>https://keystone:5000/v3</c>), Keystone v2 (<c>.../v2.0</c>) or Swift's v1 auth (<c>http://proxy:8080/auth/v1.0</c>).
    /// </summary>
    public string AuthUrl { get; set; } = "";

    /// <summary>
    /// 1 (tempauth/swauth), 2 (Keystone v2) or 3 (Keystone v3) (<c>OS_AUTH_VERSION</c>, <c>SWIFT_AUTH_VERSION</c>).
    /// <value>Default 0: from the URL (<c>/v3</c> → 3, <c>/v2.0</c> → 2, otherwise 1).</value>
    /// </summary>
    public int AuthVersion { get; set; }

    /// <summary>The user (<c>OS_USERNAME</c>, <c>SWIFT_USER</c>); for v1 auth <c>account:user</c>.</summary>
    public string Username { get; set; } = "";

    /// <summary>The password, or v1 key (<c>OS_PASSWORD</c>, <c>SWIFT_PASSWORD</c>). Never logged nor put in a message.</summary>
    public string Password { get; set; } = "";

    /// <summary>The project (tenant) name to scope the token to (<c>OS_PROJECT_NAME</c>, <c>OS_TENANT_NAME</c>, <c>SWIFT_TENANT</c>).</summary>
    public string? ProjectName { get; set; }

    /// <summary>The project (tenant) id, instead of the name (<c>OS_PROJECT_ID</c>, <c>OS_TENANT_ID</c>).</summary>
    public string? ProjectId { get; set; }

    /// <summary>Keystone v3: the user's domain (<c>OS_USER_DOMAIN_NAME</c>). <value>Default <c>Default</c>.</value></summary>
    public string UserDomainName { get; set; } = "Default";

    /// <summary>Keystone v3: the project's domain (<c>OS_PROJECT_DOMAIN_NAME</c>). <value>Default <c>Default</c>.</value></summary>
    public string ProjectDomainName { get; set; } = "Default";

    /// <summary>The region whose object-store endpoint is used (<c>OS_REGION_NAME</c>, <c>SWIFT_REGION</c>). <value>Default: the first.</value></summary>
    public string? Region { get; set; }

    /// <summary>
    /// Which catalog endpoint: <c>publicURL</c>, <c>internalURL</c> or <c>adminURL</c> (<c>OS_ENDPOINT_TYPE</c>,
    /// <c>SWIFT_ENDPOINT_TYPE</c>; v3's <c>public</c>/<c>internal</c>/<c>admin</c> are accepted too).
    /// <value>Default <c>publicURL</c>.</value>
    /// </summary>
    public string EndpointType { get; set; } = "publicURL";

    /// <summary>Overrides the storage URL from the auth response (<c>OS_STORAGE_URL</c>).</summary>
    public string? StorageUrl { get; set; }

    /// <summary>The container (the host part of <c>WALG_SWIFT_PREFIX=swift://container/path</c>).</summary>
    public string Container { get; set; } = "";

    /// <summary>The path inside the container under which the archive lives; empty for the container's root.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Where Static Large Object segments go. <value>Default <c>&lt;Container&gt;_segments</c>, created when first needed.</value></summary>
    public string? SegmentContainer { get; set; }

    /// <summary>
    /// Objects larger than this are stored as Static Large Objects of segments this size (at most 1,000 segments,
    /// Swift's default limit). An upload holds at most <see cref="SegmentSize"/> × <see cref="MaxConcurrentSegments"/>
    /// bytes in memory. <value>Default 20 MiB.</value>
    /// </summary>
    public int SegmentSize { get; set; } = DefaultSegmentSize;

    /// <summary>How many segments of one upload are in memory at once (filling one, uploading the others). <value>Default 3.</value></summary>
    public int MaxConcurrentSegments { get; set; } = 3;

    /// <summary>Retries of a request that failed with 408, 429, 498, 5xx or a connection error, with exponential backoff and jitter. <value>Default 5.</value></summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>The first retry's median delay; later ones grow exponentially. <value>Default 500 ms.</value></summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Timeout of one HTTP request. <value>Default 100 s.</value></summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);
}
