using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

internal static partial class Log
{
    [LoggerMessage(EventId = 9201, Level = LogLevel.Warning,
        Message = "{Key} was stored without its authentication record (an earlier wal-push was interrupted, or pushed without authentication); its content is this WAL file's: recorded now")]
    public static partial void WalAuthenticationRecorded(ILogger logger, string key);
}
