namespace PgArchive.IO;

/// <summary>
/// Directory creation with PostgreSQL's modes (0700, or 0750 with group access): each directory, the missing parents
/// included, is made by one mkdir with its mode, as PostgreSQL's pg_mkdir_p does, never with a wider default that is
/// narrowed afterwards. A no-op on the mode where the OS has none.
/// </summary>
internal static class UnixFiles
{
    public const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The widest mode a restored file or directory gets: PostgreSQL's with group access (0750).</summary>
    public const UnixFileMode GroupAccess = PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    /// <summary>Creates <paramref name="path"/> and its missing parents, each 0700; an existing directory is left as it is.</summary>
    public static void CreatePrivateDirectory(string path) => CreateDirectory(path, PrivateDirectory);

    /// <summary>
    /// Creates <paramref name="path"/> with <paramref name="mode"/> (less the umask) and each missing parent 0700; an
    /// existing directory is left as it is. Safe to race: a directory made meanwhile by someone else counts as made.
    /// </summary>
    public static void CreateDirectory(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Directory.Exists(full))
        {
            return;
        }

        if (Path.GetDirectoryName(full) is { } parent && !Directory.Exists(parent))
        {
            CreateDirectory(parent, PrivateDirectory);
        }

        // The parent exists: this is a single mkdir with the mode (.NET gives only the last directory of a path the
        // mode it is asked for; the parents it creates get the default 0777 less the umask).
        Directory.CreateDirectory(full, mode);
    }

    public static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }
}
