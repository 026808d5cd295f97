using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

// WAL block maps (WALG_USE_WAL_DELTA): written by wal-push, read by backup-push's delta.
internal static partial class Log
{
    [LoggerMessage(EventId = 1451, Level = LogLevel.Information, Message = "Mapped {WalFile}: {Blocks} changed blocks in {Forks} relation forks, {Limits} limit blocks, parsed in {ParseMs} ms, stored as {Key}")]
    public static partial void WalBlockMapStored(ILogger logger, string walFile, int blocks, int forks, int limits, long parseMs, string key);

    [LoggerMessage(EventId = 1452, Level = LogLevel.Warning, Message = "{WalFile} is archived but has no block map: {Reason}. A delta over it will scan pages instead")]
    public static partial void WalBlockMapSkipped(ILogger logger, string walFile, string reason);
}
