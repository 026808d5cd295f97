namespace PgArchive.Storage;

/// <summary>
/// Options of <see cref="FailoverObjectStore"/>: the write policy and the alive checks and status cache of WAL-G's
/// failover storages (<c>WALG_FAILOVER_STORAGES_*</c>).
/// </summary>
public sealed class FailoverStoresOptions
{
    /// <summary>The name WAL-G gives the primary storage (the one configured at the root of its settings).</summary>
    public const string PrimaryName = "default";

    /// <summary>
    /// Which stores a put must reach (<c>PGARCHIVE_FAILOVER_STORAGES_POLICY</c>: <c>first-alive</c> or <c>all</c>).
    /// Default <see cref="FailoverWritePolicy.FirstAlive"/>, WAL-G's behaviour; <see cref="FailoverWritePolicy.All"/> makes a second repository.
    /// </summary>
    public FailoverWritePolicy Policy { get; set; } = FailoverWritePolicy.FirstAlive;

    /// <summary>
    /// Whether stores are checked for being alive (<c>WALG_FAILOVER_STORAGES_CHECK</c>). Default true; when false every
    /// store counts as alive and no status is cached.
    /// </summary>
    public bool Check { get; set; } = true;

    /// <summary>How long an explicit alive check may take (<c>WALG_FAILOVER_STORAGES_CHECK_TIMEOUT</c>). Default 30 s.</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The size of the object the write check stores and deletes (<c>WALG_FAILOVER_STORAGES_CHECK_SIZE</c>). Default 1 MiB.</summary>
    public long CheckSize { get; set; } = 1L << 20;

    /// <summary>How long a store's cached status is trusted before it is checked again (<c>WALG_FAILOVER_STORAGES_CACHE_LIFETIME</c>). Default 15 min.</summary>
    public TimeSpan CacheLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The file the statuses are shared in between processes; null keeps them in memory only. Default
    /// <c>~/.walg_storage_rw_status_cache</c> (WAL-G's file; entries are keyed by storage name and location, so WAL-G's own entries are kept).
    /// </summary>
    public string? CacheFile { get; set; } = DefaultCacheFile();

    /// <summary>Aliveness at which a dead store counts as alive again (<c>WALG_FAILOVER_STORAGES_CACHE_EMA_ALIVE_LIMIT</c>). Default 0.99.</summary>
    public double EmaAliveLimit { get; set; } = 0.99;

    /// <summary>Aliveness below which an alive store counts as dead (<c>WALG_FAILOVER_STORAGES_CACHE_EMA_DEAD_LIMIT</c>). Default 0.88.</summary>
    public double EmaDeadLimit { get; set; } = 0.88;

    /// <summary>Largest EMA weight of an operation's result on an alive store (<c>..._EMA_ALPHA_ALIVE_MAX</c>). Default 0.05.</summary>
    public double EmaAlphaAliveMax { get; set; } = 0.05;

    /// <summary>Smallest EMA weight of an operation's result on an alive store (<c>..._EMA_ALPHA_ALIVE_MIN</c>). Default 0.01.</summary>
    public double EmaAlphaAliveMin { get; set; } = 0.01;

    /// <summary>Largest EMA weight of an operation's result on a dead store (<c>..._EMA_ALPHA_DEAD_MAX</c>). Default 0.5.</summary>
    public double EmaAlphaDeadMax { get; set; } = 0.5;

    /// <summary>Smallest EMA weight of an operation's result on a dead store (<c>..._EMA_ALPHA_DEAD_MIN</c>). Default 0.1.</summary>
    public double EmaAlphaDeadMin { get; set; } = 0.1;

    /// <summary>
    /// How many missed WAL objects a put copies to a store that came back, at most (automatic catch-up, near the pushed
    /// segment). Default 64; 0 turns automatic catch-up off (the <c>catch-up</c> command remains).
    /// </summary>
    public int AutoCatchUpLimit { get; set; } = 64;

    private static string DefaultCacheFile()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home.Length > 0 ? home : Path.GetTempPath(), ".walg_storage_rw_status_cache");
    }
}
