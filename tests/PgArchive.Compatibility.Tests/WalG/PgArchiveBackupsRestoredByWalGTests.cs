using System.Buffers.Binary;
using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using PgArchive.Compatibility.WalG.Oracle;
using PgArchive.EndToEnd;

namespace PgArchive.Compatibility.WalG;

/// <summary>
/// PgArchive → WAL-G: backups the real pgarchive CLI made from a real PostgreSQL 15 (a full backup and a delta, with
/// a tablespace; lz4 + libsodium and zstd + OpenPGP) restored by <see cref="WalGRestore"/>, WAL-G's backup-fetch
/// written from its Go source; PostgreSQL then recovers to a restore point and has exactly the rows it had there.
/// What pgarchive stored is also held against the golden files derived from WAL-G's source (<c>WalG/Golden</c>).
/// </summary>
public sealed class PgArchiveBackupsRestoredByWalGTests(PgArchiveArchives archives) : IClassFixture<PgArchiveArchives>
{
    [Theory]
    [InlineData("lz4-libsodium")]
    [InlineData("zstd-pgp")]
    public async Task Walg_restore_path_extracts_every_member_of_a_delta_chain_and_postgres_recovers_to_the_restore_point(string label)
    {
        var archive = archives.Archive(label);
        var (full, delta) = archives.Backups[label];
        Assert.Matches("^base_[0-9A-F]{24}_D_" + full[5..] + "$", delta);
        var oracle = new WalGRestore(archive.Directory, archive.Codec);
        Assert.Equal(delta, oracle.Latest());
        archives.EmptyRestorePaths();
        Directory.CreateDirectory(archives.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await oracle.FetchAsync(oracle.Latest(), archives.DataDirectory);

        // WAL-G extracts a member only under its exact Files name: before PgArchive named members as WAL-G does,
        // every member of the delta but backup_label was skipped here, pg_control included. (Of the base, WAL-G
        // extracts only what the delta marks skipped or incremented: the delta holds the rest.)
        var skipped = oracle.Skipped.GetValueOrDefault(delta) ?? [];
        Assert.True(skipped.Count == 0, $"WAL-G's restore skipped {skipped.Count} members of {delta}, e.g. {string.Join(", ", skipped.Take(5))}");
        Assert.Contains(oracle.Extracted, m => m.StartsWith("/base/", StringComparison.Ordinal));
        Assert.Contains("/global/pg_control", oracle.Extracted);
        Assert.Contains("backup_label", oracle.Extracted);
        Assert.True(oracle.IncrementsApplied > 0, "the delta's page increments must be applied");
        Assert.Contains(oracle.Extracted, m => m.StartsWith("/pg_tblspc/", StringComparison.Ordinal));
        Assert.NotNull(new DirectoryInfo(Path.Combine(archives.DataDirectory, "pg_tblspc")).EnumerateFileSystemInfos().Single().LinkTarget);

        await archives.ConfigureRecoveryAsync(archive);
        ProcessRunner.GiveToOsUser(archives.TablespaceDirectory);
        await using var restored = await PostgresCluster.StartAsync(archives.ClusterDirectory, "true", new Dictionary<string, string?>());
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(archives.ExpectedState, await restored.ScalarAsync<string>(PgArchiveArchives.State));
        await restored.ExecuteAsync("SELECT count(*) FROM pgbench_accounts a JOIN pgbench_branches b USING (bid)"); // reads every page
        await restored.StopAsync();
    }

    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "WalG", "Golden", name);

    private string BackupFile(string backup, string file) =>
        Path.Combine(archives.Archive("lz4-libsodium").Directory, "basebackups_005", file.StartsWith('_') ? backup + file : Path.Combine(backup, file));

    private static JsonObject Read(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    /// <summary>Every field WAL-G writes is there with a value of the same JSON kind; nothing else but <paramref name="extras"/>.</summary>
    private static void AssertWalGShape(JsonObject walg, JsonObject ours, string where, string[] omitted, string[] extras)
    {
        foreach (var (name, value) in walg.Where(p => !omitted.Contains(p.Key)))
        {
            Assert.True(ours.ContainsKey(name), $"{where}: no {name}");
            Assert.True(Kind(value) == Kind(ours[name]), $"{where}.{name}: WAL-G writes {value?.ToJsonString()}, PgArchive {ours[name]?.ToJsonString()}");
        }

        Assert.All(ours.Select(p => p.Key).Where(n => !walg.ContainsKey(n)), n => Assert.Contains(n, extras));
    }

    private static System.Text.Json.JsonValueKind? Kind(JsonNode? node) =>
        node?.GetValueKind() is System.Text.Json.JsonValueKind.False ? System.Text.Json.JsonValueKind.True : node?.GetValueKind();

    [Fact]
    public void Sentinel_metadata_and_files_metadata_pgarchive_stored_have_walgs_fields_and_forms()
    {
        var (_, delta) = archives.Backups["lz4-libsodium"];
        var sentinel = Read(BackupFile(delta, "_backup_stop_sentinel.json"));
        var metadata = Read(BackupFile(delta, "metadata.json"));
        var files = Read(BackupFile(delta, "files_metadata.json"));

        AssertWalGShape(Read(Golden("backup_stop_sentinel.json")), sentinel, "sentinel", omitted: ["ChkpNum"], extras: []);
        AssertWalGShape(Read(Golden("metadata.json")), metadata, "metadata.json", omitted: [], extras: []);
        var utcMicroseconds = @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,5}[1-9])?Z$"; // Go's RFC3339Nano of a UTC time rounded up to the microsecond
        foreach (var time in new[] { sentinel["StartTime"], sentinel["FinishTime"], metadata["start_time"], metadata["finish_time"] })
        {
            Assert.Matches(utcMicroseconds, time!.GetValue<string>());
        }

        var spec = sentinel["Spec"]!.AsObject();
        var oid = Assert.Single(spec["tablespaces"]!.AsArray())!.GetValue<string>();
        Assert.Equal(archives.DataDirectory, spec["base_prefix"]!.GetValue<string>());
        Assert.Equal(archives.TablespaceDirectory, spec[oid]!["loc"]!.GetValue<string>()); // no trailing slash: WAL-G's NormalizePath
        Assert.Equal("pg_tblspc/" + oid, spec[oid]!["link"]!.GetValue<string>());

        Assert.All(files.Select(p => p.Key), k => Assert.Contains(k, new[] { "Files", "TarFileSets", "TarChecksums" }));
        var walgEntry = Read(Golden("files_metadata.json"))["Files"]!["/base/5/16384"]!.AsObject();
        foreach (var (path, entry) in files["Files"]!.AsObject())
        {
            Assert.StartsWith("/", path, StringComparison.Ordinal);
            AssertWalGShape(walgEntry, entry!.AsObject(), path, omitted: [], extras: ["XxHash128", "CorruptBlocks"]);
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,6}[1-9])?Z$", entry!["MTime"]!.GetValue<string>());
        }

        Assert.Contains(files["Files"]!.AsObject(), f => f.Value!["IsIncremented"]!.GetValue<bool>());
        Assert.Contains(files["Files"]!.AsObject(), f => f.Value!["IsSkipped"]!.GetValue<bool>());
        foreach (var (tar, names) in files["TarFileSets"]!.AsObject().Where(t => t.Key.StartsWith("part_", StringComparison.Ordinal)))
        {
            Assert.All(names!.AsArray(), n => Assert.True(files["Files"]![n!.GetValue<string>()] is not null, $"{tar} lists {n}, not a key of Files"));
        }
    }

    [Fact]
    public async Task Tar_header_pgarchive_stored_for_pg_control_has_walgs_name_mode_type_and_size()
    {
        var archive = archives.Archive("lz4-libsodium");
        var (full, _) = archives.Backups["lz4-libsodium"];
        var tar = await archive.Codec.DecodeAsync(Directory.GetFiles(BackupFile(full, "tar_partitions"), "pg_control.tar.*").Single());
        var golden = await File.ReadAllBytesAsync(Golden("pg_control.tar.header"), TestContext.Current.CancellationToken);

        Assert.Equal(golden[..100], tar[..100]); // name: "/global/pg_control", NUL-padded
        Assert.Equal(Octal(golden, 100, 8) & 0x1FF, Octal(tar, 100, 8) & 0x1FF); // mode 0600
        Assert.Equal(golden[156], tar[156]); // typeflag '0'
        Assert.Equal(Octal(golden, 124, 12), Octal(tar, 124, 12)); // 8192 bytes
        Assert.Equal("/global/pg_control", new TarReader(new MemoryStream(tar)).GetNextEntry()!.Name);
    }

    [Fact]
    public async Task Increments_pgarchive_stored_have_walgs_header()
    {
        var archive = archives.Archive("lz4-libsodium");
        var (_, delta) = archives.Backups["lz4-libsodium"];
        var incremented = Read(BackupFile(delta, "files_metadata.json"))["Files"]!.AsObject()
            .Where(f => f.Value!["IsIncremented"]!.GetValue<bool>()).Select(f => f.Key).ToHashSet();
        var golden = await File.ReadAllBytesAsync(Golden("increment_header.bin"), TestContext.Current.CancellationToken);
        var checkedIncrements = 0;
        foreach (var part in Directory.GetFiles(BackupFile(delta, "tar_partitions"), "part_*"))
        {
            var reader = new TarReader(new MemoryStream(await archive.Codec.DecodeAsync(part)));
            while (reader.GetNextEntry() is { } entry)
            {
                if (!incremented.Contains(entry.Name))
                {
                    continue;
                }

                using var content = new MemoryStream();
                entry.DataStream!.CopyTo(content);
                var bytes = content.ToArray();
                Assert.Equal(golden[..4], bytes[..4]); // 'w' 'i' '1' 0x55
                var size = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(4));
                var count = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
                Assert.Equal(0UL, size % 8192);
                Assert.Equal(16 + (4L * count) + (8192L * count), bytes.Length); // the golden's layout: header, block numbers, pages
                var blocks = Enumerable.Range(0, (int)count).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16 + (4 * i)))).ToList();
                Assert.All(blocks, b => Assert.True(b < size / 8192));
                checkedIncrements++;
            }
        }

        Assert.Equal(incremented.Count, checkedIncrements);
        Assert.Equal(24576UL, BinaryPrimitives.ReadUInt64LittleEndian(golden.AsSpan(4)));
    }

    private static long Octal(byte[] block, int offset, int length) =>
        Convert.ToInt64(Encoding.ASCII.GetString(block, offset, length).Trim('\0', ' ') is { Length: > 0 } text ? text : "0", 8);
}
