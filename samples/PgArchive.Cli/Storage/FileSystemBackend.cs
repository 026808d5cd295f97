using Microsoft.Extensions.DependencyInjection;
using PgArchive.Cli.Configuration;
using PgArchive.DependencyInjection;

namespace PgArchive.Cli.Storage;

/// <summary><c>WALG_FILE_PREFIX</c> (also <c>WALE_FILE_PREFIX</c>): a local directory.</summary>
internal sealed class FileSystemBackend : IStorageBackend
{
    public string Name => "file";

    public IReadOnlyList<string> PrefixVariables { get; } = ["WALG_FILE_PREFIX", "WALE_FILE_PREFIX"];

    public void Configure(IPgArchiveBuilder builder, string prefix, WalgSettings settings) => builder.UseLocalFileSystem(DirectoryOf(prefix));

    /// <summary>The absolute directory a prefix names.</summary>
    public static string DirectoryOf(string prefix)
    {
        // WAL-E documents file://localhost/backups/pg; file:///backups/pg and a bare path mean the same.
        var path = prefix.StartsWith("file://localhost/", StringComparison.Ordinal) ? prefix["file://localhost".Length..]
            : prefix.StartsWith("file://", StringComparison.Ordinal) ? prefix["file://".Length..] : prefix;
        return Path.GetFullPath(path);
    }
}
