using Microsoft.Extensions.Logging;

namespace PgArchive.Storage;

/// <summary>The Azure Blob store's log messages. Keys and container names only: never credentials.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4400, EventName = "AzureBlobUploadAbandoned", Level = LogLevel.Debug,
        Message = "The upload of {Key} failed with {Blocks} blocks staged; nothing was committed (the service discards uncommitted blocks)")]
    public static partial void UploadAbandoned(ILogger logger, string key, int blocks);
}
