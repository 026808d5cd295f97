using Microsoft.Extensions.Logging;

namespace PgArchive.Storage;

/// <summary>The GCS store's log messages. Keys and bucket names only: never credentials.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4300, EventName = "GcsReadResumed", Level = LogLevel.Warning,
        Message = "The download of {Key} broke off after {Offset} bytes ({Reason}); reading on from there")]
    public static partial void ReadResumed(ILogger logger, string key, long offset, string reason);
}
