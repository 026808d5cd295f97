using System.Globalization;

namespace PgArchive.Postgres;

/// <summary>
/// The PostgreSQL versions pgarchive supports (10 to 18, each proven end to end) and where they differ for it:
/// PostgreSQL 12 moved the recovery settings from <c>recovery.conf</c> into the configuration, with
/// <c>recovery.signal</c> / <c>standby.signal</c>. Versions are <c>server_version_num</c> numbers (150004).
/// </summary>
internal static class PostgresVersion
{
    /// <summary>PostgreSQL 10: the oldest supported (pg_wal, the WAL function names of today, a non-exclusive stop that can wait for the archive).</summary>
    public const int Minimum = 100000;

    /// <summary>PostgreSQL 12: recovery settings in postgresql.conf and signal files; before it, <c>recovery.conf</c>.</summary>
    public const int SignalFiles = 120000;

    /// <summary>The supported range as the messages name it.</summary>
    public const string SupportedRange = "PostgreSQL 10 to 18";

    /// <summary><c>9.6</c> for 90624, <c>15</c> for 150004.</summary>
    public static string Name(int versionNum) => versionNum >= 100000
        ? (versionNum / 10000).ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{versionNum / 10000}.{versionNum / 100 % 100}");

    /// <summary>Throws, naming <paramref name="what"/> and the supported versions, below <see cref="Minimum"/>.</summary>
    public static void EnsureSupported(int versionNum, string what, string? advice = null)
    {
        if (versionNum < Minimum)
        {
            throw new PgArchiveException($"{what} is PostgreSQL {Name(versionNum)}, which pgarchive does not support: it supports {SupportedRange} " +
                "(9.6 and older keep their WAL in pg_xlog and name its functions xlog)" + (advice is null ? "." : "; " + advice + "."));
        }
    }

    /// <summary>
    /// The version a data directory's <c>PG_VERSION</c> names (<c>10</c> → 100000, <c>9.6</c> → 90600), or null when
    /// the file is missing or holds something else.
    /// </summary>
    public static int? OfDataDirectory(string dataDirectory)
    {
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(dataDirectory, "PG_VERSION")).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var parts = text.Split('.');
        if (parts.Length is 0 or > 2 || !parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)))
        {
            return null;
        }

        var major = int.Parse(parts[0], CultureInfo.InvariantCulture);
        return parts.Length == 1 ? major * 10000 : (major * 10000) + (int.Parse(parts[1], CultureInfo.InvariantCulture) * 100);
    }
}
