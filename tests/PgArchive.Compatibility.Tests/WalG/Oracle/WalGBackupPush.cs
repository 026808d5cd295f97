using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using PgArchive.Support;

namespace PgArchive.Compatibility.WalG.Oracle;

/// <summary>How the oracle writes a delta's file list: WAL-G's today, or WAL-G's before files_metadata.json (2021).</summary>
public enum WalGLayout
{
    /// <summary>files_metadata.json beside a version 2 sentinel.</summary>
    Current,

    /// <summary>Files and TarFileSets inside the sentinel (DeltaFromLSN, no Version), no files_metadata.json.</summary>
    SentinelFileList,
}

/// <summary>
/// WAL-G's <c>backup-push</c> of a local data directory, re-implemented from its Go source to produce archives
/// shaped exactly as WAL-G leaves them (<c>internal/databases/postgres/backup_push_handler.go</c>, <c>bundle.go</c>,
/// <c>delta_backup_configurator.go</c>, <c>incremental_page_reader.go</c>, <c>backup_sentinel_dto.go</c>):
/// <list type="bullet">
/// <item>a non-exclusive backup in one session (pg_backup_start with a fast checkpoint, pg_backup_stop);</item>
/// <item>the data directory walked in lexical order (Go's filepath.Walk), tablespaces followed through
/// <c>pg_tblspc</c> and named <c>/pg_tblspc/OID/...</c>, the names in ExcludedFilenames left out (directories kept
/// empty), <c>pg_control</c> kept for its own tar, uploaded after the parts;</item>
/// <item>members named <c>/</c> + the path (the root <c>/</c> included), tar headers as Go writes them
/// (<see cref="GoTarWriter"/>), partitions cut past a size threshold;</item>
/// <item>a delta: files whose modification time equals the base's are left out (IsSkipped), relation files the base had
/// are stored as increments of the pages whose LSN is at or after the base's start (new pages too; a file with an
/// invalid page is stored whole), the rest whole;</item>
/// <item><c>backup_label.tar</c> with <c>backup_label</c> and <c>tablespace_map</c> (no slash, mode 0600, no time),
/// listed in TarFileSets but not in Files; Files lists files and directories with their modification time in the
/// local zone to the nanosecond (<see cref="LocalOffset"/>);</item>
/// <item>metadata.json, files_metadata.json, then the sentinel, all compact JSON (<see cref="GoJson"/>).</item>
/// </list>
/// Objects are LZ4 frames made by the <c>lz4</c> tool, encrypted as <see cref="OracleCodec"/> is configured.
/// </summary>
public sealed class WalGBackupPush(string archive, OracleCodec codec, NpgsqlDataSource database)
{
    private OracleCodec Codec => codec;

    /// <summary>ExcludedFilenames (<c>bundle.go</c>): files left out, directories written empty.</summary>
    private static readonly HashSet<string> Excluded =
    [
        "log", "pg_log", "pg_xlog", "pg_wal", "pgsql_tmp", "postgresql.auto.conf.tmp", "postmaster.pid", "postmaster.opts", "recovery.conf",
        "pg_dynshmem", "pg_notify", "pg_replslot", "pg_serial", "pg_stat_tmp", "pg_snapshots", "pg_subtrans", "standby.signal",
    ];

    /// <summary>The zone WAL-G's host runs in: its file times are marshalled in it.</summary>
    public TimeSpan LocalOffset { get; init; } = new(5, 30, 0);

    /// <summary>A partition is closed once its members pass this many bytes (WALG_TAR_SIZE_THRESHOLD).</summary>
    public long TarSizeThreshold { get; init; } = 4L << 20;

    /// <summary>Takes a backup of <paramref name="dataDirectory"/>; a delta on <paramref name="deltaFrom"/> when given.</summary>
    /// <returns>The backup's name.</returns>
    public async Task<string> PushAsync(string dataDirectory, string? deltaFrom = null, WalGLayout layout = WalGLayout.Current)
    {
        var startTime = GoJson.NowUtcMicroseconds();
        BaseInfo? based = deltaFrom is null ? null : ReadBase(deltaFrom);
        await using var connection = await database.OpenConnectionAsync();
        var (walFile, startLsn) = await StartBackupAsync(connection);
        var name = "base_" + walFile + (based is null ? "" : string.Concat("_D_", based.Name.AsSpan(5, 24)));
        var prefix = Path.Combine(archive, "basebackups_005", name);
        Directory.CreateDirectory(Path.Combine(prefix, "tar_partitions"));

        var bundle = new Bundle(this, dataDirectory, prefix, based);
        await bundle.WalkAsync();
        await bundle.UploadPgControlAsync();
        var (label, map, finishLsn) = await StopBackupAsync(connection);
        await bundle.UploadLabelFilesAsync(label, map);

        var pgVersion = await ScalarAsync<int>(connection, "SELECT current_setting('server_version_num')::int");
        var systemIdentifier = await ScalarAsync<long>(connection, "SELECT system_identifier FROM pg_control_system()");
        var finishTime = GoJson.NowUtcMicroseconds();
        var hostname = Environment.MachineName;
        var metadata = GoJson.Write(w =>
        {
            w.WriteString("start_time", GoJson.Time(startTime));
            w.WriteString("finish_time", GoJson.Time(finishTime));
            w.WriteString("date_fmt", "%Y-%m-%dT%H:%M:%S.%fZ");
            w.WriteString("hostname", hostname);
            w.WriteString("data_dir", dataDirectory);
            w.WriteNumber("pg_version", pgVersion);
            w.WriteNumber("start_lsn", startLsn);
            w.WriteNumber("finish_lsn", finishLsn);
            w.WriteBoolean("is_permanent", false);
            w.WriteNumber("system_identifier", (ulong)systemIdentifier);
            w.WriteNumber("uncompressed_size", bundle.UncompressedSize);
            w.WriteNumber("compressed_size", bundle.CompressedSize);
        });
        await File.WriteAllBytesAsync(Path.Combine(prefix, "metadata.json"), metadata);

        if (layout == WalGLayout.Current)
        {
            await File.WriteAllBytesAsync(Path.Combine(prefix, "files_metadata.json"), GoJson.Write(w =>
            {
                bundle.WriteFiles(w);
                bundle.WriteTarFileSets(w);
            }));
        }

        var sentinel = GoJson.Write(w =>
        {
            // BackupSentinelDto (embedded first), then BackupSentinelDtoV2's own fields.
            w.WriteNumber("LSN", startLsn);
            if (based is not null)
            {
                w.WriteNumber(layout == WalGLayout.Current ? "DeltaLSN" : "DeltaFromLSN", based.Lsn);
                w.WriteString("DeltaFrom", based.Name);
                w.WriteString("DeltaFullName", based.FullName);
                w.WriteNumber("DeltaCount", based.Count + 1);
            }

            if (layout == WalGLayout.SentinelFileList)
            {
                bundle.WriteFiles(w);
                bundle.WriteTarFileSets(w);
            }

            w.WriteNumber("PgVersion", pgVersion);
            w.WriteNumber("FinishLSN", finishLsn);
            w.WriteNumber("SystemIdentifier", (ulong)systemIdentifier);
            w.WriteNumber("UncompressedSize", bundle.UncompressedSize);
            w.WriteNumber("CompressedSize", bundle.CompressedSize);
            w.WriteNumber("DataCatalogSize", bundle.DataCatalogSize);
            bundle.WriteSpec(w);
            if (layout == WalGLayout.Current)
            {
                w.WriteNull("ChkpNum");
                w.WriteNumber("Version", 2);
                w.WriteString("StartTime", GoJson.Time(startTime));
                w.WriteString("FinishTime", GoJson.Time(finishTime));
                w.WriteString("DateFmt", "%Y-%m-%dT%H:%M:%S.%fZ");
                w.WriteString("Hostname", hostname);
                w.WriteString("DataDir", dataDirectory);
                w.WriteBoolean("IsPermanent", false);
            }
        });
        await File.WriteAllBytesAsync(Path.Combine(archive, "basebackups_005", name + "_backup_stop_sentinel.json"), sentinel);
        return name;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<(string WalFile, ulong Lsn)> StartBackupAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand(
            "SELECT pg_walfile_name(lsn), (lsn - '0/0'::pg_lsn)::bigint FROM pg_backup_start('wal-g oracle', true) lsn", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetString(0), (ulong)reader.GetInt64(1));
    }

    private static async Task<(string Label, string Map, ulong Lsn)> StopBackupAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("SELECT labelfile, spcmapfile, (lsn - '0/0'::pg_lsn)::bigint FROM pg_backup_stop(true)", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetString(0), reader.IsDBNull(1) ? "" : reader.GetString(1), (ulong)reader.GetInt64(2));
    }

    /// <summary>The delta's base: its start LSN, position, root and files (with their recorded modification times).</summary>
    private sealed record BaseInfo(string Name, ulong Lsn, int Count, string FullName, Dictionary<string, (long Seconds, int Nanos)> MTimes);

    private BaseInfo ReadBase(string name)
    {
        var sentinel = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(archive, "basebackups_005", name + "_backup_stop_sentinel.json"))).RootElement;
        var filesMetadata = Path.Combine(archive, "basebackups_005", name, "files_metadata.json");
        var files = File.Exists(filesMetadata) ? JsonDocument.Parse(File.ReadAllBytes(filesMetadata)).RootElement.GetProperty("Files") : sentinel.GetProperty("Files");
        var mtimes = new Dictionary<string, (long, int)>(StringComparer.Ordinal);
        foreach (var file in files.EnumerateObject())
        {
            var text = file.Value.GetProperty("MTime").GetString()!;
            var dot = text.IndexOf('.', StringComparison.Ordinal);
            var nanos = 0;
            if (dot > 0)
            {
                var end = dot + 1;
                while (end < text.Length && char.IsAsciiDigit(text[end]))
                {
                    end++;
                }

                nanos = int.Parse(text[(dot + 1)..end].PadRight(9, '0'), CultureInfo.InvariantCulture);
                text = text[..dot] + text[end..];
            }

            var at = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

            mtimes[file.Name] = (at.ToUnixTimeSeconds(), nanos);
        }

        var count = sentinel.TryGetProperty("DeltaCount", out var c) ? c.GetInt32() : 0;
        var full = sentinel.TryGetProperty("DeltaFullName", out var f) ? f.GetString()! : name;
        return new BaseInfo(name, sentinel.GetProperty("LSN").GetUInt64(), count, full, mtimes);
    }

    /// <summary>What stat says of a file, read with find(1) for a whole tree at once (Go reads the same from lstat).</summary>
    private sealed record Stat(char Type, long Mode, int Uid, int Gid, string User, string Group, long Size, long Seconds, int Nanos);

    private static async Task<Dictionary<string, Stat>> StatTreeAsync(string root)
    {
        // A file that vanishes while find runs (a temporary file of the running server) makes it exit 1: as WAL-G's walk, go on.
        var result = await ExternalTool.RunAsync("find", [root, "-printf", @"%y\t%m\t%U\t%G\t%u\t%g\t%s\t%T@\t%p\n"]);
        var stats = new Dictionary<string, Stat>(StringComparer.Ordinal);
        foreach (var line in result.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t', 9);
            var time = f[7].Split('.');
            stats[f[8]] = new Stat(f[0][0], Convert.ToInt64(f[1], 8), int.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture),
                f[4], f[5], long.Parse(f[6], CultureInfo.InvariantCulture), long.Parse(time[0], CultureInfo.InvariantCulture),
                time.Length > 1 ? int.Parse(time[1].PadRight(9, '0')[..9], CultureInfo.InvariantCulture) : 0);
        }

        return stats;
    }

    /// <summary>One backup's walk and tars (WAL-G's Bundle with its regular tar ball composer).</summary>
#pragma warning disable CA1001 // the partition's MemoryStream holds no unmanaged resource
    private sealed class Bundle(WalGBackupPush push, string dataDirectory, string prefix, BaseInfo? based)
#pragma warning restore CA1001
    {
        private readonly SortedDictionary<string, string> _files = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, List<string>> _tarFileSets = new(StringComparer.Ordinal);
        private readonly List<(string Oid, string Location)> _tablespaces = [];
        private Dictionary<string, Stat> _stats = [];
        private string? _pgControl;
        private MemoryStream? _tar; // the partition being written; its bytes are stored when it closes
        private GoTarWriter? _writer;
        private int _parts;

        public long UncompressedSize { get; private set; }

        public long CompressedSize { get; private set; }

        public long DataCatalogSize { get; private set; }

        public async Task WalkAsync()
        {
            _stats = await StatTreeAsync(dataDirectory);
            await HandleAsync(dataDirectory, dataDirectory);
            await CloseTarAsync();
        }

        /// <summary>HandleWalkedFSObject for <paramref name="path"/>, named as <paramref name="asPath"/> (under PGDATA), then its children.</summary>
        private async Task HandleAsync(string path, string asPath)
        {
            if (!_stats.TryGetValue(path, out var stat))
            {
                if ((await StatTreeAsync(path)).GetValueOrDefault(path) is not { } late)
                {
                    return; // gone since it was listed
                }

                _stats[path] = stat = late;
            }

            DataCatalogSize += stat.Size;
            var baseName = Path.GetFileName(asPath);
            if (baseName == "pg_tblspc" && Path.GetDirectoryName(asPath) == dataDirectory)
            {
                foreach (var link in Directory.GetFileSystemEntries(path).Order(StringComparer.Ordinal))
                {
                    if (new FileInfo(link).LinkTarget is { } target)
                    {
                        var oid = Path.GetFileName(link);
                        _tablespaces.Add((oid, target.TrimEnd('/')));
                        foreach (var (p, s) in await StatTreeAsync(target))
                        {
                            _stats[p] = s;
                        }

                        // The tablespace's own directory is the link: skipped; its contents are walked as pg_tblspc/OID/...
                        DataCatalogSize += _stats[target].Size;
                        foreach (var child in Directory.GetFileSystemEntries(target).Order(StringComparer.Ordinal))
                        {
                            await HandleAsync(child, Path.Combine(asPath, oid, Path.GetFileName(child)));
                        }
                    }
                }
            }

            if (baseName == "pg_control")
            {
                _pgControl = path;
                return;
            }

            var excluded = Excluded.Contains(baseName);
            var header = new GoTarHeader(RelPath(asPath), stat.Type == 'd' ? '5' : '0', stat.Mode & 0xFFF, stat.Type == 'f' ? stat.Size : 0)
            {
                Uid = stat.Uid, Gid = stat.Gid, Uname = stat.User, Gname = stat.Group,
                ModTime = DateTimeOffset.FromUnixTimeSeconds(stat.Seconds).AddTicks(stat.Nanos / 100),
            };
            if (stat.Type == 'f')
            {
                if (!excluded)
                {
                    await AddFileAsync(path, asPath, header, stat);
                }

                return;
            }

            if (stat.Type == 'l' && Path.GetDirectoryName(asPath) == Path.Combine(dataDirectory, "pg_tblspc"))
            {
                return; // a tablespace link: isTablespaceSymlink
            }

            await AddEntryAsync(header, null);
            RecordFile(header.Name, stat, incremented: false, skipped: false);
            if (stat.Type == 'd' && !excluded)
            {
                foreach (var child in Directory.GetFileSystemEntries(path).Order(StringComparer.Ordinal))
                {
                    await HandleAsync(child, Path.Combine(asPath, Path.GetFileName(child)));
                }
            }
        }

        private string RelPath(string asPath) => Path.GetRelativePath(dataDirectory, asPath) is var relative && relative == "." ? "/" : "/" + relative;

        private async Task AddFileAsync(string path, string asPath, GoTarHeader header, Stat stat)
        {
            if (based is not null && based.MTimes.TryGetValue(header.Name, out var recorded) && recorded == (stat.Seconds, stat.Nanos))
            {
                RecordFile(header.Name, stat, incremented: false, skipped: true); // unchanged since the base
                return;
            }

            byte[] content;
            try
            {
                content = await File.ReadAllBytesAsync(path);
            }
            catch (FileNotFoundException)
            {
                return; // deleted before it was read: WAL-G ignores it (FileNotExistError)
            }

            var incremented = based is not null && based.MTimes.ContainsKey(header.Name) && IsPagedFile(asPath, stat.Size)
                && Increment(content, based.Lsn) is { } increment
                    ? increment
                    : null;
            if (incremented is not null)
            {
                header = header with { Size = incremented.Length };
                content = incremented;
            }

            RecordFile(header.Name, stat, incremented is not null, skipped: false);
            await AddEntryAsync(header, content);
        }

        private static bool IsPagedFile(string path, long size) =>
            !path.Contains("pg_xact", StringComparison.Ordinal) && !path.Contains("pg_clog", StringComparison.Ordinal) &&
            !path.Contains("pg_multixact", StringComparison.Ordinal) &&
            (path.Contains("base", StringComparison.Ordinal) || path.Contains("pg_tblspc", StringComparison.Ordinal)) &&
            size > 0 && size % 8192 == 0 && System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(path), @"^(\d+)([.]\d+)?$");

        /// <summary>IncrementalPageReader's full scan: the pages to store, or null when a page is invalid (stored whole).</summary>
        private static byte[]? Increment(byte[] file, ulong baseLsn)
        {
            var blocks = new List<uint>();
            for (var offset = 0; offset + 8192 <= file.Length; offset += 8192)
            {
                var page = file.AsSpan(offset, 8192);
                var lsn = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(page) << 32) + BinaryPrimitives.ReadUInt32LittleEndian(page[4..]);
                var flags = BinaryPrimitives.ReadUInt16LittleEndian(page[10..]);
                var lower = BinaryPrimitives.ReadUInt16LittleEndian(page[12..]);
                var upper = BinaryPrimitives.ReadUInt16LittleEndian(page[14..]);
                var special = BinaryPrimitives.ReadUInt16LittleEndian(page[16..]);
                var sizeVersion = BinaryPrimitives.ReadUInt16LittleEndian(page[18..]);
                var valid = !((flags & 7) != flags || lower < 24 || lower > upper || upper > special || special > 8192 || lsn == 0 ||
                    (sizeVersion & 0xFF00) != 8192 || (sizeVersion & 0xFF) > 5);
                var isNew = upper == 0;
                if (!valid && !isNew)
                {
                    return null;
                }

                if (isNew || lsn >= baseLsn)
                {
                    blocks.Add((uint)(offset / 8192));
                }
            }

            var increment = new byte[16 + (4 * blocks.Count) + (8192 * blocks.Count)];
            "wi1"u8.CopyTo(increment);
            increment[3] = 0x55;
            BinaryPrimitives.WriteUInt64LittleEndian(increment.AsSpan(4), (ulong)file.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(increment.AsSpan(12), (uint)blocks.Count);
            for (var i = 0; i < blocks.Count; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(increment.AsSpan(16 + (4 * i)), blocks[i]);
                file.AsSpan((int)blocks[i] * 8192, 8192).CopyTo(increment.AsSpan(16 + (4 * blocks.Count) + (8192 * i)));
            }

            return increment;
        }

        private void RecordFile(string name, Stat stat, bool incremented, bool skipped)
        {
            var mtime = GoJson.Time(stat.Seconds, stat.Nanos, push.LocalOffset);
            _files[name] = $$"""{"IsIncremented":{{(incremented ? "true" : "false")}},"IsSkipped":{{(skipped ? "true" : "false")}},"MTime":"{{mtime}}","UpdatesCount":0}""";
        }

        private async Task AddEntryAsync(GoTarHeader header, byte[]? content)
        {
            if (_writer is null)
            {
                _parts++;
                _tar = new MemoryStream();
                _writer = new GoTarWriter(_tar);
            }

            var tarName = string.Create(CultureInfo.InvariantCulture, $"part_{_parts:D3}.tar.lz4");
            (_tarFileSets.TryGetValue(tarName, out var list) ? list : _tarFileSets[tarName] = []).Add(header.Name);
            await _writer.WriteAsync(header, content);
            UncompressedSize += header.Size;
            if (_tar!.Length > push.TarSizeThreshold)
            {
                await CloseTarAsync();
            }
        }

        private async Task CloseTarAsync()
        {
            if (_writer is null)
            {
                return;
            }

            await _writer.CloseAsync();
            await StoreAsync(string.Create(CultureInfo.InvariantCulture, $"part_{_parts:D3}.tar.lz4"), _tar!.ToArray());
            _writer = null;
        }

        private async Task StoreAsync(string tarName, byte[] tar)
        {
            var stored = await push.Codec.EncodeLz4Async(tar);
            CompressedSize += stored.Length;
            await File.WriteAllBytesAsync(Path.Combine(prefix, "tar_partitions", tarName), stored);
        }

        public async Task UploadPgControlAsync()
        {
            var stat = _stats[_pgControl!];
            using var tar = new MemoryStream();
            var writer = new GoTarWriter(tar);
            var content = await File.ReadAllBytesAsync(_pgControl!);
            await writer.WriteAsync(new GoTarHeader("/global/pg_control", '0', stat.Mode & 0xFFF, content.Length)
            {
                Uid = stat.Uid, Gid = stat.Gid, Uname = stat.User, Gname = stat.Group,
                ModTime = DateTimeOffset.FromUnixTimeSeconds(stat.Seconds).AddTicks(stat.Nanos / 100),
            }, content);
            await writer.CloseAsync();
            UncompressedSize += content.Length;
            await StoreAsync("pg_control.tar.lz4", tar.ToArray());
        }

        public async Task UploadLabelFilesAsync(string label, string map)
        {
            using var tar = new MemoryStream();
            var writer = new GoTarWriter(tar);
            var labelBytes = Encoding.UTF8.GetBytes(label);
            var mapBytes = Encoding.UTF8.GetBytes(map);
            await writer.WriteAsync(new GoTarHeader("backup_label", '0', 0x180, labelBytes.Length), labelBytes);
            await writer.WriteAsync(new GoTarHeader("tablespace_map", '0', 0x180, mapBytes.Length), mapBytes);
            await writer.CloseAsync();
            UncompressedSize += labelBytes.Length + mapBytes.Length;
            await StoreAsync("backup_label.tar.lz4", tar.ToArray());
            _tarFileSets["backup_label.tar.lz4"] = ["tablespace_map", "backup_label"];
        }

        public void WriteFiles(Utf8JsonWriter w)
        {
            w.WritePropertyName("Files");
            w.WriteStartObject();
            foreach (var (name, description) in _files)
            {
                w.WritePropertyName(name);
                w.WriteRawValue(description);
            }

            w.WriteEndObject();
        }

        public void WriteTarFileSets(Utf8JsonWriter w)
        {
            w.WritePropertyName("TarFileSets");
            w.WriteStartObject();
            foreach (var (tar, names) in _tarFileSets)
            {
                w.WritePropertyName(tar);
                w.WriteStartArray();
                foreach (var name in names)
                {
                    w.WriteStringValue(name);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        /// <summary>TablespaceSpec.MarshalJSON: a map, so keys sorted (OIDs before base_prefix and tablespaces).</summary>
        public void WriteSpec(Utf8JsonWriter w)
        {
            if (_tablespaces.Count == 0)
            {
                return;
            }

            w.WritePropertyName("Spec");
            w.WriteStartObject();
            foreach (var (oid, location) in _tablespaces.OrderBy(t => t.Oid, StringComparer.Ordinal))
            {
                w.WritePropertyName(oid);
                w.WriteStartObject();
                w.WriteString("loc", location);
                w.WriteString("link", "pg_tblspc/" + oid);
                w.WriteEndObject();
            }

            w.WriteString("base_prefix", dataDirectory.TrimEnd('/'));
            w.WritePropertyName("tablespaces");
            w.WriteStartArray();
            foreach (var (oid, _) in _tablespaces)
            {
                w.WriteStringValue(oid);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }
    }
}
