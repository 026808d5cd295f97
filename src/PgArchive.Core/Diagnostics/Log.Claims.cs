using Microsoft.Extensions.Logging;

namespace PgArchive.Diagnostics;

// A backup-push's claim on its backup name (BackupClaim).
internal static partial class Log
{
    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Removed {Count} objects that an unfinished backup-push no longer running had left under {Prefix}")]
    public static partial void ClaimLeftoversRemoved(ILogger logger, int count, string prefix);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "The claim on backup {BackupName} could not be refreshed (tried again in a minute): {Reason}")]
    public static partial void ClaimNotRefreshed(ILogger logger, string backupName, string reason);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning,
        Message = "The claim on the unfinished backup {BackupName} could not be marked interrupted (resume and delete take it as such once its process has ended): {Reason}")]
    public static partial void ClaimNotMarkedInterrupted(ILogger logger, string backupName, string reason);
}
