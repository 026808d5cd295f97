using System.Globalization;
using System.Text.RegularExpressions;
using PgArchive;

namespace PgArchive.Cli.Configuration;

/// <summary>
/// Durations and sizes as written in flags and settings, parsed one way for every command: what WAL-G accepts
/// (Go's <c>time.ParseDuration</c>: <c>30s</c>, <c>500ms</c>, <c>1h30m</c>, <c>0</c>; sizes in bytes or with a
/// 1024-based unit) plus pgarchive's spellings (<c>2.5</c> meaning seconds, <c>2min</c>, <c>4MiB</c>).
/// </summary>
internal static partial class SettingText
{
    /// <summary>A duration: a sequence of number + unit (<c>ns</c>, <c>us</c>, <c>µs</c>, <c>ms</c>, <c>s</c>, <c>m</c>, <c>min</c>, <c>h</c>), or a bare number of seconds.</summary>
    /// <exception cref="PgArchiveConfigurationException">Anything else, or a negative value; the message names <paramref name="name"/>.</exception>
    public static TimeSpan? Duration(string? text, string name)
    {
        if (text is null)
        {
            return null;
        }

        var trimmed = text.Trim();
        if (double.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        var parts = DurationPart().Matches(trimmed);
        if (parts.Count == 0 || string.Concat(parts.Select(p => p.Value)) != trimmed)
        {
            throw new PgArchiveConfigurationException($"{name} '{text}' is not a duration: write 30s, 500ms, 2m, 1h30m or a number of seconds.");
        }

        var total = TimeSpan.Zero;
        foreach (Match part in parts)
        {
            var value = double.Parse(part.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            total += part.Groups[2].Value switch
            {
                "ns" => TimeSpan.FromTicks((long)(value / 100)),
                "us" or "µs" => TimeSpan.FromMicroseconds(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                "s" => TimeSpan.FromSeconds(value),
                "m" or "min" => TimeSpan.FromMinutes(value),
                _ => TimeSpan.FromHours(value),
            };
        }

        return total;
    }

    /// <summary>A size: a number of bytes, or a whole number with <c>k</c>/<c>kb</c>/<c>KiB</c>, <c>m</c>/<c>mb</c>/<c>MiB</c>, <c>g</c>/<c>gb</c>/<c>GiB</c> (1024-based, any case).</summary>
    /// <exception cref="PgArchiveConfigurationException">Anything else, or a size past 2^63 bytes; the message names <paramref name="name"/>.</exception>
    public static long? Size(string? text, string name)
    {
        if (text is null)
        {
            return null;
        }

        var match = SizePattern().Match(text.Trim());
        var shift = match.Success
            ? match.Groups[2].Value.ToUpperInvariant() switch
            {
                "" or "B" => 0,
                "K" or "KB" or "KIB" => 10,
                "M" or "MB" or "MIB" => 20,
                _ => 30,
            }
            : -1;
        return shift >= 0 && long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= long.MaxValue >> shift
            ? value << shift
            : throw new PgArchiveConfigurationException($"{name} '{text}' is not a size: write 1048576 (bytes), 512kB, 4MiB or 1GB.");
    }

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|min|s|m|h)", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPart();

    [GeneratedRegex(@"^([0-9]+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SizePattern();
}
