using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PgArchive.Diagnostics;

/// <summary>
/// PgArchive's metrics (meter <c>PgArchive</c>) and traces (activity source <c>PgArchive</c>), in
/// System.Diagnostics: OpenTelemetry picks them up with <c>AddMeter("PgArchive")</c> and
/// <c>AddSource("PgArchive")</c>, and Core needs no OpenTelemetry package.
/// </summary>
public static class PgArchiveTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "PgArchive";

    private static readonly string? Version = typeof(PgArchiveTelemetry).Assembly.GetName().Version?.ToString();

    internal static readonly ActivitySource ActivitySource = new(Name, Version);

    internal static readonly Meter Meter = new(Name, Version);

    /// <summary>Bytes read from the data directory and WAL files.</summary>
    internal static readonly Counter<long> BytesRead = Meter.CreateCounter<long>("pgarchive.bytes.read", "By", "Bytes read from the data directory and from WAL files.");

    /// <summary>Bytes after tar, before compression and encryption.</summary>
    internal static readonly Counter<long> BytesUncompressed = Meter.CreateCounter<long>("pgarchive.bytes.uncompressed", "By", "Bytes of tar and WAL before compression.");

    /// <summary>Bytes written to the object store (compressed, encrypted).</summary>
    internal static readonly Counter<long> BytesUploaded = Meter.CreateCounter<long>("pgarchive.bytes.uploaded", "By", "Bytes written to the object store.");

    /// <summary>Bytes written to restore targets.</summary>
    internal static readonly Counter<long> BytesRestored = Meter.CreateCounter<long>("pgarchive.bytes.restored", "By", "Bytes of files written by restores and WAL fetches.");

    /// <summary>wal-push duration.</summary>
    internal static readonly Histogram<double> WalPushDuration = Meter.CreateHistogram<double>("pgarchive.wal_push.duration", "s", "Duration of wal-push, from start to durably stored.");

    /// <summary>wal-fetch duration.</summary>
    internal static readonly Histogram<double> WalFetchDuration = Meter.CreateHistogram<double>("pgarchive.wal_fetch.duration", "s", "Duration of wal-fetch.");

    /// <summary>backup-push duration.</summary>
    internal static readonly Histogram<double> BackupDuration = Meter.CreateHistogram<double>("pgarchive.backup.duration", "s", "Duration of backup-push.");

    /// <summary>backup-fetch duration.</summary>
    internal static readonly Histogram<double> RestoreDuration = Meter.CreateHistogram<double>("pgarchive.restore.duration", "s", "Duration of backup-fetch.");

    /// <summary>Failures by operation and kind.</summary>
    internal static readonly Counter<long> Errors = Meter.CreateCounter<long>("pgarchive.errors", "{error}", "Failed operations, by operation and error kind.");

    /// <summary>Counts a failure of <paramref name="operation"/>; returns false so it can sit in an exception filter.</summary>
    /// <summary>
    /// Runs one operation inside its span: records its duration when it succeeds, lets <paramref name="completed"/>
    /// add what it measured, and counts and marks the error when it fails (the exception passes unchanged).
    /// </summary>
    internal static async Task<T> MeasureAsync<T>(string operation, Histogram<double> duration, KeyValuePair<string, object?>? tag,
        Func<Task<T>> run, Action<T, Activity?>? completed = null)
    {
        using var activity = ActivitySource.StartActivity(operation);
        if (tag is { } given)
        {
            activity?.SetTag(given.Key, given.Value);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await run().ConfigureAwait(false);
            duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            completed?.Invoke(result, activity);
            return result;
        }
        catch (Exception ex) when (RecordError(operation, ex, activity))
        {
            throw;
        }
    }

    internal static bool RecordError(string operation, Exception exception, Activity? activity)
    {
        var kind = exception switch
        {
            ITelemetryErrorKind known => known.ErrorKind,
            OperationCanceledException => "cancelled",
            PgArchiveConfigurationException => "configuration",
            _ => exception.GetType().Name,
        };
        if (kind != "not_found")
        {
            Errors.Add(1, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("error.kind", kind));
            activity?.SetStatus(ActivityStatusCode.Error, kind);
        }

        return false;
    }
}
