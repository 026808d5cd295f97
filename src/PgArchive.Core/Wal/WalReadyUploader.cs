using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.IO;
using PgArchive.PostgresTypes;

namespace PgArchive.Wal;

/// <summary>
/// archive_command without a backlog: pushes the file PostgreSQL asked for and, side by side with it, the
/// other segments PostgreSQL has already marked ready (<c>pg_wal/archive_status/NAME.ready</c>), oldest first.
/// Each of those that the store durably holds gets a marker (<see cref="WalUploadMarkers"/>), so that its own
/// archive_command call returns at once. A segment that fails to upload ahead only lacks a marker: its own
/// call pushes it normally and reports the failure, as a plain push would.
/// </summary>
public sealed partial class WalReadyUploader
{
    /// <summary>At most this many segments are uploaded ahead by one call, as WAL-G's total limit for its background uploader.</summary>
    public const int DefaultAheadLimit = 32;

    private readonly WalArchiver _archiver;
    private readonly ILogger _logger;

    /// <summary>Creates the uploader over <paramref name="archiver"/>.</summary>
    public WalReadyUploader(WalArchiver archiver, ILogger<WalReadyUploader>? logger = null)
    {
        _archiver = archiver ?? throw new ArgumentNullException(nameof(archiver));
        _logger = logger ?? NullLogger<WalReadyUploader>.Instance;
    }

    /// <summary>
    /// Archives <paramref name="walFilePath"/> (returning only once it is durably stored, or it was uploaded
    /// ahead unchanged) and uploads up to <paramref name="concurrency"/> − 1 ready segments beside it.
    /// <paramref name="scope"/> names the archive (see <see cref="WalUploadMarkers"/>): a marker written under
    /// one scope never passes under another.
    /// </summary>
    public async Task<WalPushResult> PushAsync(string walFilePath, int concurrency, int aheadLimit = DefaultAheadLimit, string scope = "",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentException.ThrowIfNullOrEmpty(walFilePath);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var full = Path.GetFullPath(walFilePath);
        var name = Path.GetFileName(full);
        if (WalUploadMarkers.TryConsume(full, scope))
        {
            LogMessages.UploadedAhead(_logger, name);
            return new WalPushResult(name, "", AlreadyArchived: true, 0);
        }

        var ahead = concurrency > 1 && aheadLimit > 0 ? ReadySegments(full, aheadLimit) : [];
        if (ahead.Count == 0)
        {
            return await _archiver.PushAsync(full, cancellationToken).ConfigureAwait(false);
        }

        // The requested file runs as partition 0, the ready ones after it; only the requested file's failure fails the call.
        var results = await PartitionPipeline.RunAsync(ahead.Count + 1, concurrency, async (i, ct) =>
        {
            if (i == 0)
            {
                return await _archiver.PushAsync(full, ct).ConfigureAwait(false);
            }

            await UploadAheadAsync(ahead[i - 1], scope, ct).ConfigureAwait(false);
            return null;
        }, cancellationToken).ConfigureAwait(false);
        return results[0]!;
    }

    private async Task UploadAheadAsync(string path, string scope, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(path);
        try
        {
            var before = WalUploadMarkers.Describe(path);
            await _archiver.PushAsync(path, cancellationToken).ConfigureAwait(false);
            var after = WalUploadMarkers.Describe(path);
            if (!string.Equals(before, after, StringComparison.Ordinal))
            {
                LogMessages.ChangedWhileUploading(_logger, name);
                return;
            }

            await WalUploadMarkers.WriteAsync(path, after, scope, cancellationToken).ConfigureAwait(false);
            LogMessages.MarkedUploaded(_logger, name);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogMessages.AheadFailed(_logger, name, ex.Message);
        }
    }

    /// <summary>Segments of the same WAL directory marked ready, other than the requested one and not marked uploaded yet, oldest first.</summary>
    private static List<string> ReadySegments(string walFilePath, int limit)
    {
        var walDirectory = Path.GetDirectoryName(walFilePath)!;
        var status = Path.Combine(walDirectory, "archive_status");
        var markers = WalUploadMarkers.DirectoryFor(walDirectory);
        var requested = Path.GetFileName(walFilePath);
        if (!Directory.Exists(status))
        {
            return [];
        }

        try
        {
            return [.. Directory.EnumerateFiles(status, "*.ready")
                .Select(f => Path.GetFileNameWithoutExtension(f))
                .Where(n => WalFileName.Classify(n) == WalFileKind.Segment && n != requested)
                .Order(StringComparer.Ordinal)
                .Where(n => !File.Exists(Path.Combine(markers, n)) && File.Exists(Path.Combine(walDirectory, n)))
                .Take(limit)
                .Select(n => Path.Combine(walDirectory, n))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static partial class LogMessages
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "{WalFile} was uploaded ahead and is unchanged: archived")]
        public static partial void UploadedAhead(ILogger logger, string walFile);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Uploaded {WalFile} ahead of its archive_command call")]
        public static partial void MarkedUploaded(ILogger logger, string walFile);

        [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "{WalFile} changed while it was uploaded ahead: its own archive_command call will push it")]
        public static partial void ChangedWhileUploading(ILogger logger, string walFile);

        [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Uploading {WalFile} ahead failed ({Reason}): its own archive_command call will push it")]
        public static partial void AheadFailed(ILogger logger, string walFile, string reason);
    }
}
