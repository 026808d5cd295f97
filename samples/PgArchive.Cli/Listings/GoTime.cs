using System.Globalization;
using PgArchive.Backups;

namespace PgArchive.Cli.Listings;

/// <summary>
/// Times as WAL-G prints them in listings, each in the zone the time carries (Go's <c>time.Time</c> keeps the offset
/// it was read with): <c>internal/backup_list_time_format.go</c> FormatTime (<c>time.RFC3339</c>) and PrettyFormatTime
/// (<c>time.RFC850</c>), both <c>-</c> for Go's zero time; <c>time.Time.MarshalJSON</c> (<c>time.RFC3339Nano</c>).
/// An offset of zero is Go's UTC: <c>Z</c>, and the zone name <c>UTC</c> in RFC 850; another offset has no zone name
/// (a fixed zone read from RFC 3339), which Go's layout <c>MST</c> writes as <c>+0530</c>.
/// </summary>
internal static class GoTime
{
    /// <summary>Go's zero <c>time.Time</c> (January 1 of year 1, UTC) is what a missing time reads as.</summary>
    public static bool IsZero(DateTimeOffset value) => value.UtcTicks == 0;

    /// <summary>FormatTime: <c>2026-11-20T10:00:05Z</c>, or <c>-</c> for the zero time.</summary>
    public static string FormatTime(DateTimeOffset value) =>
        IsZero(value) ? "-" : value.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + Offset(value, ":", "Z");

    /// <summary>PrettyFormatTime: <c>Friday, 20-Nov-26 10:00:05 UTC</c>, or <c>-</c> for the zero time.</summary>
    public static string PrettyFormatTime(DateTimeOffset value) =>
        IsZero(value) ? "-" : value.ToString("dddd, dd-MMM-yy HH:mm:ss ", CultureInfo.InvariantCulture) + Offset(value, "", "UTC");

    /// <summary>MarshalJSON: RFC 3339 with the fraction's trailing zeros left out, in the time's own zone.</summary>
    public static string Rfc3339Nano(DateTimeOffset value)
    {
        // the clock time in its zone, formatted as WAL-G's UTC times are, then the zone
        var clock = WalGTimeJsonConverter.Format(new DateTimeOffset(value.DateTime, TimeSpan.Zero));
        return clock[..^1] + Offset(value, ":", "Z");
    }

    /// <summary>
    /// A line as WAL-G's loggers write it (github.com/wal-g/tracelog: Go's <c>log</c> with <c>LstdFlags | Lmicroseconds</c>
    /// after the prefix): <c>INFO: 2026/11/20 10:00:05.123456 No backups found</c>, in the host's local time.
    /// </summary>
    public static string LogLine(string prefix, string message) =>
        prefix + DateTime.Now.ToString("yyyy'/'MM'/'dd HH:mm:ss.ffffff ", CultureInfo.InvariantCulture) + message;

    /// <summary>
    /// Go's <c>time.Time.String</c>, as WAL-G's storage listings print times: <c>2026-12-07 08:13:44.5 +0000 UTC</c>,
    /// the fraction without trailing zeros, the zone as the offset (<c>UTC</c> for zero; a fixed zone read from RFC 3339
    /// is named by its offset again).
    /// </summary>
    public static string String(DateTimeOffset value)
    {
        var ticks = value.Ticks % TimeSpan.TicksPerSecond;
        var fraction = ticks == 0 ? "" : "." + (ticks * 100).ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0');
        var offset = (value.Offset < TimeSpan.Zero ? "-" : "+") + value.Offset.Duration().ToString("hhmm", CultureInfo.InvariantCulture);
        return value.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + fraction + " " + offset + " " + (value.Offset == TimeSpan.Zero ? "UTC" : offset);
    }

    private static string Offset(DateTimeOffset value, string separator, string utc)
    {
        if (value.Offset == TimeSpan.Zero)
        {
            return utc;
        }

        var offset = value.Offset.Duration();
        return string.Create(CultureInfo.InvariantCulture, $"{(value.Offset < TimeSpan.Zero ? '-' : '+')}{offset.Hours:D2}{separator}{offset.Minutes:D2}");
    }
}
