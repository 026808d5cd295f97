using System.Text.RegularExpressions;

namespace PgArchive.Backups;

/// <summary>WAL-G's backup names: <c>base_&lt;24 hex&gt;</c>, optionally <c>_D_&lt;24 hex&gt;</c> (delta) and WAL-E's <c>_&lt;8 hex&gt;</c> offset.</summary>
public static partial class BackupName
{
    /// <summary>The keyword that picks the newest backup.</summary>
    public const string Latest = "LATEST";

    /// <summary>True when <paramref name="name"/> is a backup name.</summary>
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    /// <summary>The name of a full backup that starts in <paramref name="startSegmentFileName"/>.</summary>
    public static string ForFull(string startSegmentFileName) => "base_" + startSegmentFileName;

    /// <summary>The name of a delta backup: <c>&lt;full-style name&gt;_D_&lt;24 hex of its base's start WAL file&gt;</c>.</summary>
    public static string ForDelta(string name, string baseStartSegmentFileName) => name + "_D_" + baseStartSegmentFileName;

    [GeneratedRegex("^base_[0-9A-F]{24}(_D_[0-9A-F]{24})?(_[0-9A-F]{8})?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
