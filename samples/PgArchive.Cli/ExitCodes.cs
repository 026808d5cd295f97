namespace PgArchive.Cli;

/// <summary>The exit codes of pgarchive, as documented in the README.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;

    /// <summary>The operation failed; the message says why.</summary>
    public const int Failure = 1;

    /// <summary>The command line or the configuration is invalid.</summary>
    public const int Usage = 2;

    /// <summary>wal-fetch: the file is not in the archive (WAL-G's EX_IOERR).</summary>
    public const int NotInArchive = 74;

    /// <summary>Interrupted (SIGINT/SIGTERM).</summary>
    public const int Cancelled = 130;
}
