using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PgArchive.Compatibility.WalG.Oracle;

/// <summary>
/// JSON as Go's <c>encoding/json</c> writes WAL-G's DTOs: compact, struct fields in declaration order (an embedded
/// struct's first), map keys sorted, a <c>time.Time</c> as RFC 3339 with nanoseconds and trailing zeros trimmed
/// (<c>time.RFC3339Nano</c>: <c>Z</c> for UTC, else the zone's offset).
/// </summary>
public static class GoJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes an object with <paramref name="write"/> and returns its bytes.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Go's RFC3339Nano of an instant given as Unix seconds and nanoseconds, in a zone <paramref name="offset"/> from UTC
    /// (WAL-G marshals file times in its local zone, backup times in UTC).
    /// </summary>
    public static string Time(long unixSeconds, int nanoseconds, TimeSpan offset)
    {
        var local = DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToOffset(offset);
        var text = new StringBuilder(local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
        if (nanoseconds != 0)
        {
            text.Append('.').Append(nanoseconds.ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        if (offset == TimeSpan.Zero)
        {
            return text.Append('Z').ToString();
        }

        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var abs = offset.Duration();
        return text.Append(CultureInfo.InvariantCulture, $"{sign}{abs.Hours:D2}:{abs.Minutes:D2}").ToString();
    }

    /// <summary>Go's RFC3339Nano of a UTC instant.</summary>
    public static string Time(DateTimeOffset utc)
    {
        var ticks = utc.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        return Time(Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest), (int)(rest * 100), TimeSpan.Zero);
    }

    /// <summary>WAL-G's utility.TimeNowCrossPlatformUTC: now in UTC, rounded up to the microsecond.</summary>
    public static DateTimeOffset NowUtcMicroseconds()
    {
        var now = DateTimeOffset.UtcNow;
        var extra = now.Ticks % 10;
        return extra == 0 ? now : now.AddTicks(10 - extra);
    }
}
