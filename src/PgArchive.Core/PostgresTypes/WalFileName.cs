using System.Text.RegularExpressions;

namespace PgArchive.PostgresTypes;

/// <summary>What kind of file PostgreSQL hands to archive_command or asks of restore_command.</summary>
public enum WalFileKind
{
    /// <summary>A WAL segment, <c>000000010000000000000003</c>.</summary>
    Segment,

    /// <summary>A partial segment left at a timeline switch, <c>000000010000000000000003.partial</c>.</summary>
    PartialSegment,

    /// <summary>A timeline history file, <c>00000002.history</c>.</summary>
    TimelineHistory,

    /// <summary>A backup history file, <c>000000010000000000000003.00000028.backup</c>.</summary>
    BackupHistory,
}

/// <summary>Recognises the file names that may be archived; anything else (a path, '..') is refused.</summary>
public static partial class WalFileName
{
    /// <summary>The kind of <paramref name="fileName"/>, or null when it is not a WAL file name.</summary>
    public static WalFileKind? Classify(string? fileName)
    {
        if (fileName is null)
        {
            return null;
        }

        var match = Pattern().Match(fileName);
        if (!match.Success)
        {
            return null;
        }

        return match.Groups["history"].Success ? WalFileKind.TimelineHistory
            : match.Groups["backup"].Success ? WalFileKind.BackupHistory
            : match.Groups["partial"].Success ? WalFileKind.PartialSegment
            : WalFileKind.Segment;
    }

    /// <summary>Throws <see cref="PgArchiveException"/> unless <paramref name="fileName"/> is a WAL file name.</summary>
    public static WalFileKind Validate(string fileName) =>
        Classify(fileName) ?? throw new PgArchiveException(
            $"'{fileName}' is not a WAL file name: expected a segment (000000010000000000000003), a .partial segment, a timeline history file (00000002.history) or a backup history file.");

    [GeneratedRegex(@"^(?:(?<history>[0-9A-F]{8}\.history)|[0-9A-F]{24}(?:(?<partial>\.partial)|(?<backup>\.[0-9A-F]{8}\.backup))?)$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
