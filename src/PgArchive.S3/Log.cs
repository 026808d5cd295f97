using Microsoft.Extensions.Logging;

namespace PgArchive.Storage;

/// <summary>The S3 store's log messages. Keys and bucket names only: never credentials.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4100, EventName = "S3ConditionalWritesRefused", Level = LogLevel.Information,
        Message = "S3 bucket {Bucket} refused If-None-Match on PUT ({Reason}); create-only puts check with HEAD only from now on")]
    public static partial void ConditionalWritesRefused(ILogger logger, string bucket, string reason);

    [LoggerMessage(EventId = 4101, EventName = "S3BatchDeleteRefused", Level = LogLevel.Information,
        Message = "S3 bucket {Bucket} refused DeleteObjects ({Reason}); deleting one key per request from now on")]
    public static partial void BatchDeleteRefused(ILogger logger, string bucket, string reason);

    [LoggerMessage(EventId = 4102, EventName = "S3AbortFailed", Level = LogLevel.Warning,
        Message = "Could not abort the failed multipart upload of {Key} ({Error}); a bucket lifecycle rule for incomplete uploads cleans such parts up")]
    public static partial void AbortFailed(ILogger logger, string key, string error);

    [LoggerMessage(EventId = 4103, EventName = "S3ReadResumed", Level = LogLevel.Warning,
        Message = "The download of {Key} broke off after {Offset} bytes ({Reason}); reading on from there")]
    public static partial void ReadResumed(ILogger logger, string key, long offset, string reason);
}
