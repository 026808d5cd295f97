namespace PgArchive;

/// <summary>How a delta backup finds the pages changed since its base (<c>PGARCHIVE_DELTA_BLOCK_SOURCE</c>).</summary>
public enum DeltaBlockSource
{
    /// <summary>
    /// The blocks PostgreSQL's WAL summaries name (17 and later, <c>summarize_wal = on</c>), reading only those;
    /// a scan of every page when the server cannot tell (<c>auto</c>).
    /// </summary>
    Auto = 0,

    /// <summary>Every page of every relation file the base had is read and kept when its LSN is at or after the base's start (<c>scan</c>, WAL-G's way).</summary>
    Scan = 1,
}
