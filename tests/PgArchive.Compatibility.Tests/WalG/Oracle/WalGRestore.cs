using System.Buffers.Binary;
using System.Formats.Tar;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PgArchive.Compatibility.WalG.Oracle;

/// <summary>
/// WAL-G's <c>backup-fetch</c> (the default, non-reverse path), re-implemented from its Go source over a
/// local-filesystem archive (WALG_FILE_PREFIX), to prove that WAL-G restores an archive:
/// <list type="bullet">
/// <item>LATEST is the backup whose sentinel was stored last (<c>internal/backup_selector.go</c>);</item>
/// <item>sentinel and <c>files_metadata.json</c> (or, for a sentinel without <c>Version</c> ≥ 2, the file list older
/// WAL-G kept in the sentinel) (<c>postgres/backup.go</c> GetSentinelAndFilesMetadata);</item>
/// <item>the files to extract are the keys of <c>Files</c> plus the utility files <c>/global/pg_control</c>,
/// <c>backup_label</c>, <c>tablespace_map</c>, or everything when <c>Files</c> is empty (GetFilesToUnwrap); a delta's base
/// extracts only what the delta lists as skipped or incremented (<c>backup_fetch_handler.go</c> GetBaseFilesToUnwrap),
/// the base first (deltaFetchRecursionOld);</item>
/// <item>tablespace links from the sentinel's <c>Spec</c> (or a restore spec) before extraction (setTablespacePaths);</item>
/// <item>the <c>part_*</c> tars, then <c>backup_label.tar.*</c>, then <c>pg_control.tar.*</c> last
/// (<c>tars_to_extract_provider.go</c>); a WAL-G backup without pg_control is an error;</item>
/// <item>each member: directories created; a regular file only when its exact name is to be extracted; an
/// incremented file of a delta patched with WAL-G's increment (<c>pagefile.go</c> ApplyFileIncrement), any other
/// written whole and given the member's mode (<c>tar_interpreter.go</c>, <c>utility/local_file_helpers.go</c>).</item>
/// </list>
/// Members named otherwise than the keys of Files are silently skipped, as WAL-G skips them: <see cref="Skipped"/>
/// records them, by backup, so a test can show what WAL-G left out.
/// </summary>
public sealed partial class WalGRestore(string archive, OracleCodec codec)
{
    private static readonly string[] UtilityFilePaths = ["/global/pg_control", "backup_label", "tablespace_map"];

    /// <summary>By backup, the regular-file members seen but not extracted because their name is not one to extract.</summary>
    public Dictionary<string, List<string>> Skipped { get; } = [];

    /// <summary>Regular-file members written (whole or patched).</summary>
    public List<string> Extracted { get; } = [];

    /// <summary>Increments applied.</summary>
    public int IncrementsApplied { get; private set; }

    private string BaseBackups => Path.Combine(archive, "basebackups_005");

    /// <summary>The backup whose sentinel was stored last.</summary>
    public string Latest() =>
        Directory.GetFiles(BaseBackups, "*_backup_stop_sentinel.json")
            .OrderBy(File.GetLastWriteTimeUtc)
            .Select(p => Path.GetFileName(p)[..^"_backup_stop_sentinel.json".Length])
            .Last();

    /// <summary>The names of the stored backups (sentinels present).</summary>
    public IReadOnlyList<string> Backups() =>
        [.. Directory.GetFiles(BaseBackups, "*_backup_stop_sentinel.json").Select(p => Path.GetFileName(p)[..^"_backup_stop_sentinel.json".Length]).Order(StringComparer.Ordinal)];

    /// <summary>Restores <paramref name="backupName"/> into <paramref name="dataDirectory"/>, as <c>wal-g backup-fetch DIR NAME</c>.</summary>
    /// <param name="restoreSpec">A <c>--restore-spec</c> (tablespace locations), or null for the sentinel's.</param>
    public async Task FetchAsync(string backupName, string dataDirectory, JsonElement? restoreSpec = null)
    {
        var backup = Load(backupName);
        var filesToUnwrap = FilesToUnwrap(backup);
        if (restoreSpec is not null)
        {
            filesToUnwrap?.Remove("tablespace_map");
        }

        await DeltaFetchRecursionAsync(backup, dataDirectory, restoreSpec, filesToUnwrap);
    }

    private sealed record Backup(string Name, JsonElement Sentinel, Dictionary<string, JsonElement> Files)
    {
        public bool IsIncremental => Sentinel.TryGetProperty("DeltaFrom", out var from) && from.ValueKind == JsonValueKind.String;
    }

    private Backup Load(string name)
    {
        var sentinel = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(BaseBackups, name + "_backup_stop_sentinel.json"))).RootElement;
        var files = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (sentinel.TryGetProperty("FilesMetadataDisabled", out var disabled) && disabled.GetBoolean())
        {
            return new Backup(name, sentinel, files);
        }

        JsonElement? list = null;
        var filesMetadata = Path.Combine(BaseBackups, name, "files_metadata.json");
        if (File.Exists(filesMetadata))
        {
            var document = JsonDocument.Parse(File.ReadAllBytes(filesMetadata)).RootElement;
            list = document.TryGetProperty("Files", out var f) ? f : null;
        }
        else if (sentinel.TryGetProperty("Version", out var version) && version.GetInt32() >= 2)
        {
            throw new InvalidOperationException($"failed to fetch files metadata of {name}: a version 2 sentinel needs files_metadata.json");
        }
        else if (sentinel.TryGetProperty("Files", out var deprecated) && deprecated.ValueKind == JsonValueKind.Object)
        {
            list = deprecated; // DeprecatedSentinelFields
        }

        if (list is { ValueKind: JsonValueKind.Object } l)
        {
            foreach (var file in l.EnumerateObject())
            {
                files[file.Name] = file.Value;
            }
        }

        return new Backup(name, sentinel, files);
    }

    private static HashSet<string>? FilesToUnwrap(Backup backup)
    {
        if (backup.Files.Count == 0)
        {
            return null; // UnwrapAll
        }

        var result = new HashSet<string>(backup.Files.Keys, StringComparer.Ordinal);
        result.UnionWith(UtilityFilePaths);
        return result;
    }

    private async Task DeltaFetchRecursionAsync(Backup backup, string dataDirectory, JsonElement? spec, HashSet<string>? filesToUnwrap)
    {
        // chooseTablespaceSpecification: the spec given (the restored backup's, or --restore-spec) wins over a base's.
        spec ??= backup.Sentinel.TryGetProperty("Spec", out var own) && own.ValueKind == JsonValueKind.Object ? own : null;
        if (backup.IsIncremental)
        {
            var baseFiles = GetBaseFilesToUnwrap(backup, filesToUnwrap);
            var baseName = backup.Sentinel.GetProperty("DeltaFrom").GetString()!;
            await DeltaFetchRecursionAsync(Load(baseName), dataDirectory, spec, baseFiles);
        }

        await UnwrapAsync(backup, dataDirectory, spec, filesToUnwrap);
    }

    private static HashSet<string>? GetBaseFilesToUnwrap(Backup backup, HashSet<string>? current)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in current ?? []) // WAL-G ranges over a nil map: a delta without Files restores nothing of its base
        {
            if (!backup.Files.TryGetValue(file, out var description))
            {
                if (!UtilityFilePaths.Contains(file))
                {
                    throw new InvalidOperationException($"Wanted to fetch increment for file: '{file}', but didn't find one in base");
                }

                continue;
            }

            if (description.GetProperty("IsSkipped").GetBoolean() || description.GetProperty("IsIncremented").GetBoolean())
            {
                result.Add(file);
            }
        }

        return result;
    }

    private async Task UnwrapAsync(Backup backup, string dataDirectory, JsonElement? spec, HashSet<string>? filesToUnwrap)
    {
        if (!backup.IsIncremental && Directory.Exists(dataDirectory) && Directory.EnumerateFileSystemEntries(dataDirectory).Any())
        {
            throw new InvalidOperationException($"Directory {dataDirectory} for delta base must be empty");
        }

        if (spec is { } tablespaces)
        {
            SetTablespacePaths(tablespaces);
        }

        var tarFolder = Path.Combine(BaseBackups, backup.Name, "tar_partitions");
        var concurrent = new List<string>();
        var sequential = new List<string>();
        foreach (var tar in Directory.GetFiles(tarFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            if (PgControlTar().IsMatch(tar!) || BackupLabelTar().IsMatch(tar!))
            {
                sequential.Add(tar!);
            }
            else
            {
                concurrent.Add(tar!);
            }
        }

        var needPgControl = !WalEName().IsMatch(backup.Name) || backup.IsIncremental; // IsPgControlRequired
        if (sequential.Count == 0 && needPgControl)
        {
            throw new InvalidOperationException("Expect pg_control archive, but not found");
        }

        foreach (var tar in concurrent.Concat(sequential))
        {
            var plain = await codec.DecodeAsync(Path.Combine(tarFolder, tar));
            await ExtractOneTarAsync(plain, backup, dataDirectory, filesToUnwrap);
        }
    }

    private static void SetTablespacePaths(JsonElement spec)
    {
        var basePrefix = spec.GetProperty("base_prefix").GetString()!.TrimEnd('/');
        Directory.CreateDirectory(Path.Combine(basePrefix, "pg_tblspc"));
        foreach (var name in spec.TryGetProperty("tablespaces", out var names) ? names.EnumerateArray().Select(n => n.GetString()!) : [])
        {
            var location = spec.GetProperty(name);
            var target = location.GetProperty("loc").GetString()!;
            Directory.CreateDirectory(target);
            var link = Path.Combine(basePrefix, location.GetProperty("link").GetString()!);
            if (new FileInfo(link).LinkTarget is { } existing)
            {
                if (existing != target)
                {
                    throw new InvalidOperationException($"symlink {link} having incorrect target");
                }
            }
            else
            {
                File.CreateSymbolicLink(link, target);
            }
        }
    }

    private async Task ExtractOneTarAsync(byte[] plain, Backup backup, string dataDirectory, HashSet<string>? filesToUnwrap)
    {
        using var tar = new MemoryStream(plain);
        var reader = new TarReader(tar);
        while (await reader.GetNextEntryAsync(copyData: false) is { } header)
        {
            var targetPath = JoinPath(dataDirectory, header.Name);
            switch (header.EntryType)
            {
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    await UnwrapRegularFileAsync(header, targetPath, backup, filesToUnwrap);
                    break;
                case TarEntryType.Directory:
                    Directory.CreateDirectory(targetPath);
                    File.SetUnixFileMode(targetPath, header.Mode);
                    break;
                default:
                    break; // links: none in a PostgreSQL data directory's backup
            }
        }
    }

    private async Task UnwrapRegularFileAsync(TarEntry header, string targetPath, Backup backup, HashSet<string>? filesToUnwrap)
    {
        if (filesToUnwrap is not null && !filesToUnwrap.Contains(header.Name))
        {
            (Skipped.TryGetValue(backup.Name, out var list) ? list : Skipped[backup.Name] = []).Add(header.Name);
            return;
        }

        Extracted.Add(header.Name);
        if (backup.Files.TryGetValue(header.Name, out var description) && backup.IsIncremental && description.GetProperty("IsIncremented").GetBoolean())
        {
            await ApplyFileIncrementAsync(targetPath, header.DataStream!);
            IncrementsApplied++;
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(targetPath)!);
        await using (var file = new FileStream(targetPath, FileMode.Create, FileAccess.Write))
        {
            if (header.DataStream is { } data)
            {
                await data.CopyToAsync(file);
            }
        }

        File.SetUnixFileMode(targetPath, header.Mode);
    }

    /// <summary>WAL-G's ApplyFileIncrement: header check, truncate to the recorded size, pages written at their blocks, nothing after.</summary>
    private static async Task ApplyFileIncrementAsync(string fileName, Stream increment)
    {
        var header = new byte[4];
        await increment.ReadExactlyAsync(header);
        if (header[0] != 'w' || header[1] != 'i' || header[3] != 0x55)
        {
            throw new InvalidDataException($"Invalid increment file header in {fileName}");
        }

        if (header[2] != '1')
        {
            throw new InvalidDataException($"Unknown increment file header in {fileName}");
        }

        var fields = new byte[12];
        await increment.ReadExactlyAsync(fields);
        var fileSize = BinaryPrimitives.ReadUInt64LittleEndian(fields);
        var diffBlockCount = BinaryPrimitives.ReadUInt32LittleEndian(fields.AsSpan(8));
        var diffMap = new byte[diffBlockCount * 4];
        await increment.ReadExactlyAsync(diffMap);
        if (!File.Exists(fileName))
        {
            throw new InvalidOperationException($"incremented file should always exist: {fileName}");
        }

        await using var file = new FileStream(fileName, FileMode.Open, FileAccess.ReadWrite);
        file.SetLength((long)fileSize);
        var page = new byte[8192];
        for (var i = 0; i < diffBlockCount; i++)
        {
            var blockNo = BinaryPrimitives.ReadUInt32LittleEndian(diffMap.AsSpan(i * 4));
            await increment.ReadExactlyAsync(page);
            file.Position = (long)blockNo * page.Length;
            await file.WriteAsync(page);
        }

        if (await increment.ReadAsync(new byte[1]) > 0)
        {
            throw new InvalidDataException($"Expected end of Tar in the increment of {fileName}");
        }
    }

    /// <summary>Go's path.Join(dir, name): joined and cleaned (a member named <c>/base/1</c> lands under the directory).</summary>
    private static string JoinPath(string directory, string name)
    {
        var parts = new List<string>();
        foreach (var part in (directory + "/" + name).Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                throw new InvalidOperationException($"'{name}' leaves the data directory.");
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }

    [GeneratedRegex(@"^.*?pg_control\.tar(\..+$|$)")]
    private static partial Regex PgControlTar();

    [GeneratedRegex(@"^.*?backup_label\.tar(\..+$|$)")]
    private static partial Regex BackupLabelTar();

    [GeneratedRegex(@"^([^_]+._{1}[^_]+._{1})")]
    private static partial Regex WalEName();
}
