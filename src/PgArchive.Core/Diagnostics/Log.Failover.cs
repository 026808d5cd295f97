using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

// Failover storages (WALG_FAILOVER_STORAGES): alive checks, the status cache, catch-up.
internal static partial class Log
{
    [LoggerMessage(EventId = 2501, Level = LogLevel.Warning, Message = "Storage {Storage} failed its alive check: {Reason}")]
    public static partial void StorageCheckFailed(ILogger logger, string storage, string reason);

    [LoggerMessage(EventId = 2502, Level = LogLevel.Information, Message = "Storage {Storage} is {Status} now")]
    public static partial void StorageStatusChanged(ILogger logger, string storage, string status);

    [LoggerMessage(EventId = 2503, Level = LogLevel.Warning, Message = "Cannot use the storage status cache file {Path}: {Reason}")]
    public static partial void StatusCacheUnusable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2504, Level = LogLevel.Information, Message = "Caught up storage {Storage}: {Objects} objects copied from {Source}")]
    public static partial void StorageCaughtUp(ILogger logger, string storage, int objects, string source);

    [LoggerMessage(EventId = 2507, Level = LogLevel.Information,
        Message = "Caught up storage {Storage} in part: {Copied} of the {Missing} objects it lacks copied from {Source}, as many as one put copies; the next puts copy more, 'pgarchive catch-up' copies the rest")]
    public static partial void StorageCaughtUpInPart(ILogger logger, string storage, int copied, int missing, string source);

    [LoggerMessage(EventId = 2506, Level = LogLevel.Warning, Message = "Storage {Storage} is left out of the listing: {Reason}")]
    public static partial void StorageLeftOutOfListing(ILogger logger, string storage, string reason);

    [LoggerMessage(EventId = 2505, Level = LogLevel.Warning, Message = "Catching up storage {Storage} failed, left for later: {Reason}")]
    public static partial void CatchUpFailed(ILogger logger, string storage, string reason);
}
