using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

// copy: backups and their WAL from one store to another (ArchiveCopier).
internal static partial class Log
{
    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "Copying {Objects} objects ({Sentinels} sentinels last) of backups {Backups}; the destination already holds {Present} objects")]
    public static partial void CopyPlanned(ILogger logger, int objects, int sentinels, string backups, int present);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Debug, Message = "Copied {Key} ({Bytes} bytes)")]
    public static partial void ObjectCopied(ILogger logger, string key, long bytes);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Debug, Message = "{Key} is already in the destination, the same as the source's")]
    public static partial void ObjectAlreadyCopied(ILogger logger, string key);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Information, Message = "{Key} was in the destination without its authentication record (a copy that stopped); found to be the source's and recorded")]
    public static partial void CopiedObjectRecorded(ILogger logger, string key);
}
