namespace PgArchive.Daemon;

/// <summary>Settings of <see cref="WalDaemon"/> (<c>pgarchive daemon</c>), bindable from configuration (e.g. <c>PgArchive:WalDaemon</c>).</summary>
public sealed class WalDaemonOptions
{
    /// <summary>
    /// The Unix domain socket to listen on (at most 107 bytes). A stale socket there (nobody listening) is replaced; a
    /// socket another daemon answers on, or a file that is not a socket, is an error. The socket is created 0600: run the
    /// daemon as PostgreSQL's OS user. <value>Required.</value>
    /// </summary>
    public string SocketPath { get; set; } = "";

    /// <summary>
    /// The data directory (WAL-G's <c>PGDATA</c>) relative paths in requests are resolved against, as WAL-G's daemon does:
    /// a bare file name to push is taken from its <c>pg_wal</c>, any other relative path from the directory itself
    /// (PostgreSQL's <c>%p</c> is relative to it). Null: only absolute paths are served (pgarchive's client sends those).
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>How many requests are served at once; further connections wait in the socket's backlog. <value>Default 8.</value></summary>
    public int MaxConcurrentRequests { get; set; } = 8;

    /// <summary>
    /// The time limit of one request, from its connection on (WAL-G's <c>WALG_DAEMON_WAL_UPLOAD_TIMEOUT</c>): a request
    /// that runs longer is answered with an error. <value>Default 60 s, as WAL-G.</value>
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// As <c>WALG_UPLOAD_CONCURRENCY</c> for <c>wal-push</c>: a push also uploads up to this many − 1 segments PostgreSQL
    /// has marked ready, so that their own requests find them stored. <value>Default 1: only the segment asked for.</value>
    /// </summary>
    public int UploadConcurrency { get; set; } = 1;

    /// <summary>Names the archive in the markers of segments uploaded ahead (the command line's hash of its settings).</summary>
    internal string MarkerScope { get; set; } = "";
}
