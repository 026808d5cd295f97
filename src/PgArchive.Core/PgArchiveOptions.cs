namespace PgArchive;

/// <summary>Settings of the archive services, bindable from configuration (section <c>PgArchive</c>).</summary>
public sealed class PgArchiveOptions
{
    /// <summary>The default tar partition size threshold: WAL-G's 1 GiB − 1.</summary>
    public const long DefaultTarSizeThreshold = (1L << 30) - 1;

    /// <summary>
    /// How new objects are compressed (<c>WALG_COMPRESSION_METHOD</c>): <c>lz4</c> (default), <c>zstd</c>,
    /// <c>brotli</c>, <c>lzma</c> or <c>none</c>, plus whatever other <see cref="Compression.ICompressor"/>s are registered.
    /// </summary>
    public string CompressionMethod { get; set; } = "lz4";

    /// <summary>
    /// A tar partition is closed once it holds this many uncompressed bytes (<c>WALG_TAR_SIZE_THRESHOLD</c>).
    /// <value>Default 1 GiB − 1; at least 1 MiB.</value>
    /// </summary>
    public long TarSizeThreshold { get; set; } = DefaultTarSizeThreshold;

    /// <summary>
    /// Verify PostgreSQL's data-page checksums while backup-push reads relation files, when the cluster has
    /// data checksums (<c>WALG_VERIFY_PAGE_CHECKSUMS</c>). Corrupt blocks are logged and recorded in
    /// files_metadata.json; the backup still completes.
    /// <value>Default true (WAL-G's default is false; pgBackRest's is true).</value>
    /// </summary>
    public bool VerifyPageChecksums { get; set; } = true;

    /// <summary>
    /// Longest delta chain backup-push builds (<c>WALG_DELTA_MAX_STEPS</c>): while the base's chain is shorter, a
    /// backup stores only the pages changed since its base; otherwise it is full.
    /// <value>Default 0: every backup is full.</value>
    /// </summary>
    public int DeltaMaxSteps { get; set; }

    /// <summary>
    /// What a delta is built on (<c>WALG_DELTA_ORIGIN</c>): <c>LATEST</c> (the newest backup, default) or
    /// <c>LATEST_FULL</c> (the full backup at the root of the newest backup's chain).
    /// </summary>
    public string DeltaOrigin { get; set; } = "LATEST";

    /// <summary>
    /// Store a block map beside every WAL segment wal-push archives (<c>WALG_USE_WAL_DELTA</c>): the blocks its records
    /// change, parsed from WAL of PostgreSQL 10 to 18, under <c>wal_blockmaps_005/</c>. A map that cannot be made or
    /// stored is logged and skipped, never a failed wal-push: without it a later delta reads pages to find the changes.
    /// <value>Default false.</value>
    /// </summary>
    public bool UseWalDelta { get; set; }

    /// <summary>
    /// How a delta finds the pages changed since its base (<c>PGARCHIVE_DELTA_BLOCK_SOURCE</c>):
    /// <see cref="DeltaBlockSource.Auto"/> reads only the blocks PostgreSQL's WAL summaries name when the server can tell
    /// (17 and later with <c>summarize_wal</c> on, summaries back to the base), else scans every page;
    /// <see cref="DeltaBlockSource.Scan"/> always scans.
    /// <value>Default <see cref="DeltaBlockSource.Auto"/>.</value>
    /// </summary>
    public DeltaBlockSource DeltaBlockSource { get; set; } = DeltaBlockSource.Auto;

    /// <summary>Record every corrupt block number instead of the first ten (<c>WALG_STORE_ALL_CORRUPT_BLOCKS</c>).</summary>
    public bool StoreAllCorruptBlocks { get; set; }

    /// <summary>
    /// How many tar partitions backup-push builds and uploads at once (<c>WALG_UPLOAD_CONCURRENCY</c>). Each
    /// partition in flight holds one upload buffer (a few MiB), so memory is bounded by this times the buffer
    /// whatever the database size. Tar and compression are CPU work: no more partitions than processors run at
    /// once, however high this is set.
    /// <value>Default 16, as WAL-G.</value>
    /// </summary>
    public int UploadConcurrency { get; set; } = 16;

    /// <summary>
    /// How many files backup-push reads from disk at once (<c>WALG_UPLOAD_DISK_CONCURRENCY</c>): reads are
    /// gated, compression and upload of the partitions in flight go on in parallel.
    /// <value>
    /// Default 1, as WAL-G: with reads through the page cache, a second reader made a cold full backup slower, not faster
    /// (pgbench scale 300 on 2 cores: twice the system CPU). With <see cref="DirectReads"/>, set 2: each direct read is
    /// one request to the disk, and one reader left it idle while the other partition compressed.
    /// </value>
    /// </summary>
    public int UploadDiskConcurrency { get; set; } = 1;

    /// <summary>
    /// Whether backup-push reads data files of 1 MiB or more with O_DIRECT (<c>PGARCHIVE_DIRECT_READS</c>): the disk
    /// writes straight into backup-push's buffers, 1 MiB at a time with the next read in flight, instead of through
    /// the page cache, which saves the CPU of copying every byte out of the cache and leaves the database's cached
    /// pages in place. Where the filesystem refuses O_DIRECT (tmpfs) or off Linux, files are read through the cache.
    /// <value>
    /// Default false. For a server whose CPU and page cache the database needs: a cold full backup read directly
    /// takes a third of the system CPU and evicts nothing, and on a machine loaded by other work it was faster; on an
    /// idle 2-core machine the kernel's readahead through the cache was 10-20% faster (bench/full-backup-floor.sh,
    /// bench/compare.sh). Pair it with <see cref="UploadDiskConcurrency"/> 2.
    /// </value>
    /// </summary>
    public bool DirectReads { get; set; }

    /// <summary>
    /// Bytes per second backup-push reads from the data directory, all its readers together (<c>WALG_DISK_RATE_LIMIT</c>,
    /// WAL-E's <c>--cluster-read-rate-limit</c>), so a backup does not starve the server it backs up. Page scans of a
    /// delta count too. <value>Default null: no limit.</value>
    /// </summary>
    public long? DiskRateLimit { get; set; }

    /// <summary>
    /// Bytes per second sent to and read from the store, every command and worker of the process together
    /// (<c>WALG_NETWORK_RATE_LIMIT</c>): the content of backup and WAL uploads and downloads. <value>Default null: no limit.</value>
    /// </summary>
    public long? NetworkRateLimit { get; set; }

    /// <summary>
    /// How many tar partitions backup-fetch downloads, decompresses and extracts at once (<c>WALG_DOWNLOAD_CONCURRENCY</c>).
    /// <value>Default min(10, processors), as WAL-G.</value>
    /// </summary>
    public int DownloadConcurrency { get; set; } = Math.Min(10, Environment.ProcessorCount);

    /// <summary>
    /// Whether backup-fetch flushes the restored files to disk before it reports the restore done, as WAL-G and
    /// pgBackRest do: a crash or power cut right after a restore then cannot leave files that look restored but
    /// are not on disk. Each file's writeback starts as it is written, so the flush at the end is short.
    /// <c>WALG_TAR_DISABLE_FSYNC=true</c> turns it off (for a scratch restore that PostgreSQL's own start-up sync covers).
    /// <value>Default true.</value>
    /// </summary>
    public bool SyncRestoredFiles { get; set; } = true;

    /// <summary>
    /// Libpq-style connection string for <c>backup-push</c>; empty takes everything from libpq's
    /// environment variables (<c>PGHOST</c>, <c>PGPORT</c>, <c>PGUSER</c>, <c>PGPASSWORD</c>, <c>PGDATABASE</c>).
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// How many times a store operation that failed transiently (<see cref="Storage.ObjectStoreException.IsTransient"/>:
    /// throttling, service unavailable, connection reset) is retried, with exponential backoff and jitter
    /// (<c>PGARCHIVE_STORE_RETRIES</c>). Puts of streamed content (tar partitions, WAL files) are retried by
    /// re-running their producer. 0 turns retries off. <value>Default 5.</value>
    /// </summary>
    public int StoreRetries { get; set; } = 5;

    /// <summary>The first retry's delay; each next one doubles, up to 30 s (<c>PGARCHIVE_STORE_RETRY_DELAY</c>, seconds). <value>Default 0.5 s.</value></summary>
    public TimeSpan StoreRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);
}
