using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace PgArchive.Backups;

/// <summary>
/// Every time PgArchive stores or prints as JSON, in WAL-G's form: Go's <c>encoding/json</c> marshals a
/// <c>time.Time</c> as RFC 3339 with nanoseconds, trailing zeros (and a fraction of zero) left out, <c>Z</c> for
/// UTC. PgArchive writes UTC (<c>2026-12-07T00:13:47.701461Z</c>); it reads any RFC 3339 time, with up to nine
/// fractional digits (digits past .NET's 100 ns are dropped, never rounded, so a time compares equal to the same
/// instant read from the file system) and any offset (WAL-G writes files' modification times in its local zone).
/// </summary>
internal sealed partial class WalGTimeJsonConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a time as a string, found {reader.TokenType}.");
        }

        var text = reader.GetString()!;
        return TryParse(text, out var value) ? value : throw new JsonException($"'{text}' is not an RFC 3339 time.");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(Format(value));
    }

    /// <summary>WAL-G's form of <paramref name="value"/>, in UTC: <c>2026-12-07T00:13:47.7014616Z</c>, no trailing zeros.</summary>
    public static string Format(DateTimeOffset value)
    {
        var utc = value.UtcDateTime;
        var text = new StringBuilder(utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture), 30);
        var fraction = utc.Ticks % TimeSpan.TicksPerSecond;
        if (fraction != 0)
        {
            text.Append('.').Append(fraction.ToString("D7", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        return text.Append('Z').ToString();
    }

    /// <summary>Parses an RFC 3339 time (<c>Z</c> or an offset, 0 to 9 fractional digits).</summary>
    public static bool TryParse(string text, out DateTimeOffset value)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = default;
        var match = Rfc3339().Match(text);
        if (!match.Success || !DateTime.TryParseExact(match.Groups["seconds"].Value.Replace('t', 'T'), "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture,
            DateTimeStyles.None, out var seconds))
        {
            return false;
        }

        var digits = match.Groups["fraction"].Value;
        var ticks = digits.Length == 0 ? 0 : long.Parse(digits.Length >= 7 ? digits[..7] : digits.PadRight(7, '0'), CultureInfo.InvariantCulture);
        var offset = TimeSpan.Zero;
        if (match.Groups["offset"].Value is { Length: 6 } zone)
        {
            offset = new TimeSpan(int.Parse(zone.AsSpan(1, 2), CultureInfo.InvariantCulture), int.Parse(zone.AsSpan(4, 2), CultureInfo.InvariantCulture), 0);
            if (offset >= TimeSpan.FromHours(24))
            {
                return false;
            }

            offset = zone[0] == '-' ? -offset : offset;
        }

        try
        {
            value = new DateTimeOffset(seconds.AddTicks(ticks), offset);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>
    /// <paramref name="value"/> rounded up to whole microseconds, as WAL-G records a backup's start and finish times
    /// (so that <c>date_fmt</c>'s <c>%f</c>, six digits, reads them).
    /// </summary>
    public static DateTimeOffset CeilToMicroseconds(DateTimeOffset value)
    {
        const long ticksPerMicrosecond = TimeSpan.TicksPerMillisecond / 1000;
        var extra = value.Ticks % ticksPerMicrosecond;
        return extra == 0 ? value : value.AddTicks(ticksPerMicrosecond - extra);
    }

    [GeneratedRegex(@"^(?<seconds>\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(?<fraction>\d{1,9}))?(?<offset>[Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}
