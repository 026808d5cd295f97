namespace PgArchive.Storage;

/// <summary>Options of <see cref="LocalFileSystemObjectStore"/>.</summary>
public sealed class LocalFileSystemObjectStoreOptions
{
    /// <summary>
    /// The directory that holds the archive (WAL-G's <c>WALG_FILE_PREFIX</c>). Created on first write.
    /// </summary>
    public string RootPath { get; set; } = "";
}
