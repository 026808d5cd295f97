namespace PgArchive.EndToEnd;

/// <summary>
/// A temporary directory under /tmp that the cluster's OS user owns: the source cluster, restore targets and,
/// for the local-filesystem backend, the archive itself. Removed on dispose.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ArchiveWorkspace : IAsyncDisposable
{
    /// <summary>Creates the workspace.</summary>
    public ArchiveWorkspace()
    {
        Root = Directory.CreateTempSubdirectory("pgarchive-e2e-").FullName;
        File.SetUnixFileMode(Root, (UnixFileMode)0b111_101_101);
        Directory.CreateDirectory(ArchiveDirectory);
        ProcessRunner.GiveToOsUser(Root);
    }

    /// <summary>The workspace directory.</summary>
    public string Root { get; }

    /// <summary>Where the local-filesystem archive lives.</summary>
    public string ArchiveDirectory => Path.Combine(Root, "archive");

    /// <summary>WAL-G settings for the local-filesystem archive of this workspace.</summary>
    public Dictionary<string, string?> FileArchiveSettings => new() { ["WALG_FILE_PREFIX"] = ArchiveDirectory };

    /// <summary>A new path under the workspace (not created).</summary>
    public string PathFor(string name) => Path.Combine(Root, name);

    /// <summary>A new directory under the workspace that the cluster's OS user owns (a restore target, a prefetch directory).</summary>
    public string CreateDirectory(string name)
    {
        var path = Directory.CreateDirectory(PathFor(name)).FullName;
        ProcessRunner.GiveToOsUser(path);
        return path;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
