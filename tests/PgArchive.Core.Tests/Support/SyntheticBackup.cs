using System.Formats.Tar;
using System.IO.Hashing;
using System.Text.Json;
using PgArchive.Backups;
using PgArchive.Storage;

namespace PgArchive.Support;

/// <summary>One member of a tar partition: a file with its content, or a directory.</summary>
/// <param name="Name">The member's name as it stands in the tar (with or without a leading '/').</param>
/// <param name="Content">The file's content; null for a directory.</param>
/// <param name="Mode">The permission bits recorded in the tar.</param>
internal sealed record TarMember(string Name, byte[]? Content, UnixFileMode Mode)
{
    public static TarMember File(string name, byte[] content, UnixFileMode mode = (UnixFileMode)0b110_000_000) => new(name, content, mode);

    public static TarMember Directory(string name, UnixFileMode mode = (UnixFileMode)0b111_000_000) => new(name, null, mode);

    /// <summary>The path files_metadata.json records it under: '/' and the path relative to the data directory.</summary>
    public string RecordedPath => "/" + Name.TrimStart('/').TrimEnd('/');
}

/// <summary>
/// Stores a backup as backup-push lays it out, without PostgreSQL: each partition a tar encoded through the codec
/// (compressed, and encrypted when the codec is), files_metadata.json listing every file of every partition with
/// its XXH128 (unless left out), then the sentinel.
/// </summary>
internal static class SyntheticBackup
{
    public const string Sentinel = """{"LSN": 67108904, "FinishLSN": 67109176, "PgVersion": 150010, "Version": 2, "StartTime": "2026-11-20T10:00:00Z", "FinishTime": "2026-11-20T10:00:05Z"}""";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A backup's usual partitions: the data files, backup_label, pg_control.</summary>
    public static (string, TarMember[])[] Partitions(byte[] pgControl, params TarMember[] data) =>
    [
        ("part_001.tar", data),
        ("backup_label.tar", [TarMember.File("backup_label", "START WAL LOCATION: 0/4000028 (file 000000010000000000000004)\n"u8.ToArray())]),
        ("pg_control.tar", [TarMember.File("global/pg_control", pgControl)]),
    ];

    /// <summary>
    /// Stores the backup; returns partition (<c>part_001.tar</c>) → its key. <paramref name="files"/> edits what
    /// files_metadata.json records before it is stored; null leaves files_metadata.json out. <paramref name="sentinel"/>
    /// edits the sentinel.
    /// </summary>
    public static async Task<Dictionary<string, string>> StoreAsync(IObjectStore store, ObjectCodec codec, string backup,
        IEnumerable<(string Partition, TarMember[] Members)> partitions, Action<FilesMetadata>? files = null, bool withFilesMetadata = true,
        Action<BackupSentinel>? sentinel = null)
    {
        var compressor = codec.Compressors.Default;
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var metadata = new FilesMetadata();
        foreach (var (partition, members) in partitions)
        {
            using var tar = new MemoryStream();
            await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            {
                foreach (var member in members)
                {
                    var entry = new PaxTarEntry(member.Content is null ? TarEntryType.Directory : TarEntryType.RegularFile, member.Name) { Mode = member.Mode };
                    if (member.Content is not null)
                    {
                        entry.DataStream = new MemoryStream(member.Content);
                    }

                    await writer.WriteEntryAsync(entry, Token);
                }
            }

            using var stored = new MemoryStream();
            await using (var encode = codec.Encode(stored, compressor))
            {
                await encode.WriteAsync(tar.ToArray(), Token);
            }

            var objectName = partition + (compressor.FileExtension.Length > 0 ? "." + compressor.FileExtension : "");
            var key = ArchiveLayout.TarPartitionsPrefix(backup) + objectName;
            await store.PutAsync(key, new MemoryStream(stored.ToArray()), PutMode.Overwrite, Token);
            keys[partition] = key;
            metadata.TarFileSets[objectName] = [.. members.Where(m => m.Content is not null).Select(m => m.RecordedPath)];
            foreach (var member in members.Where(m => m.Content is not null))
            {
                metadata.Files[member.RecordedPath] = new BackupFileDescription { XxHash128 = Convert.ToHexStringLower(XxHash128.Hash(member.Content!)) };
            }
        }

        if (withFilesMetadata)
        {
            files?.Invoke(metadata);
            await store.PutAsync(ArchiveLayout.FilesMetadataKey(backup),
                new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(metadata, PgArchiveJsonContext.Default.FilesMetadata)), PutMode.Overwrite, Token);
        }

        var written = JsonSerializer.Deserialize(Sentinel, PgArchiveJsonContext.Default.BackupSentinel)!;
        written.FilesMetadataDisabled = !withFilesMetadata;
        sentinel?.Invoke(written);
        await store.PutAsync(ArchiveLayout.SentinelKey(backup),
            new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(written, PgArchiveJsonContext.Default.BackupSentinel)), PutMode.Overwrite, Token);
        return keys;
    }
}
