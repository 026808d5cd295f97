using System.Formats.Tar;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using PgArchive.Retention;
using PgArchive.Storage;

namespace PgArchive.Backups;

public sealed class BackupVerifierTests : IDisposable
{
    private readonly SyntheticArchive _archive = new();
    private readonly string _name;
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal)
    {
        ["base/5/16384"] = Enumerable.Range(0, 20000).Select(i => (byte)(i * 7)).ToArray(),
        ["PG_VERSION"] = Encoding.ASCII.GetBytes("15\n"),
    };

    public BackupVerifierTests()
    {
        _name = _archive.AddBackup(1, 2);
        var files = new FilesMetadata();
        StoreTar("part_001.tar.lz4", _files, files);
        StoreTar("backup_label.tar.lz4", new Dictionary<string, byte[]> { ["backup_label"] = Encoding.ASCII.GetBytes("START WAL LOCATION: 0/2000028\n") }, files);
        StoreTar("pg_control.tar.lz4", new Dictionary<string, byte[]> { ["global/pg_control"] = new byte[8192] }, files);
        _archive.Put(ArchiveLayout.FilesMetadataKey(_name), JsonSerializer.Serialize(files, PgArchiveJsonContext.Default.FilesMetadata));
    }

    public void Dispose() => _archive.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private void StoreTar(string tarName, Dictionary<string, byte[]> content, FilesMetadata files, DateTimeOffset? modified = null)
    {
        var codec = _archive.Get<ObjectCodec>();
        using var stored = new MemoryStream();
        using (var encoder = codec.Encode(stored, (Compression.ICompressor)codec.CompressorFor(tarName)))
        using (var writer = new TarWriter(encoder, TarEntryFormat.Gnu, leaveOpen: true))
        {
            foreach (var (path, bytes) in content)
            {
                writer.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, path)
                {
                    DataStream = new MemoryStream(bytes),
                    ModificationTime = modified ?? DateTimeOffset.UnixEpoch,
                });
                files.Files["/" + path] = new BackupFileDescription { XxHash128 = Convert.ToHexStringLower(XxHash128.Hash(bytes)) };
            }
        }

        files.TarFileSets[tarName] = [.. content.Keys.Select(k => "/" + k)];
        files.TarChecksums ??= [];
        files.TarChecksums[tarName] = new StoredChecksum(stored.Length, Convert.ToHexStringLower(XxHash128.Hash(stored.ToArray())));
        _archive.Store.PutAsync(ArchiveLayout.TarPartitionsPrefix(_name) + tarName, new MemoryStream(stored.ToArray()), PutMode.Overwrite, Token).GetAwaiter().GetResult();
    }

    [Fact]
    public async Task An_intact_backup_verifies()
    {
        var result = await _archive.Get<BackupVerifier>().VerifyAsync("LATEST", Token);

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        Assert.Equal((3, 4, 4), (result.Partitions, result.Files, result.FilesChecksummed));
    }

    [Fact]
    public async Task A_file_whose_content_changed_is_named()
    {
        var files = new FilesMetadata();
        _files["base/5/16384"][12345] ^= 0x10;
        var recorded = JsonSerializer.Deserialize(_archive.Store.GetBytes(ArchiveLayout.FilesMetadataKey(_name)), PgArchiveJsonContext.Default.FilesMetadata)!;
        StoreTar("part_001.tar.lz4", _files, files); // same names, changed bytes; the recorded file hashes stay
        recorded.TarChecksums = files.TarChecksums;   // the partition's own checksum is its new bytes': only the file tells
        _archive.Put(ArchiveLayout.FilesMetadataKey(_name), JsonSerializer.Serialize(recorded, PgArchiveJsonContext.Default.FilesMetadata));

        var result = await _archive.Get<BackupVerifier>().VerifyAsync(_name, Token);

        var problem = Assert.Single(result.Problems);
        Assert.Equal(("part_001.tar.lz4", "/base/5/16384"), (problem.TarPartition, problem.File));
        Assert.Contains("does not match the checksum recorded at backup-push", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partition_whose_stored_bytes_changed_is_reported_damaged()
    {
        var files = new FilesMetadata();
        _files["base/5/16384"][12345] ^= 0x10;
        var recorded = JsonSerializer.Deserialize(_archive.Store.GetBytes(ArchiveLayout.FilesMetadataKey(_name)), PgArchiveJsonContext.Default.FilesMetadata)!;
        StoreTar("part_001.tar.lz4", _files, files); // the recorded stored checksum stays
        _archive.Put(ArchiveLayout.FilesMetadataKey(_name), JsonSerializer.Serialize(recorded, PgArchiveJsonContext.Default.FilesMetadata));

        var result = await _archive.Get<BackupVerifier>().VerifyAsync(_name, Token);

        // The stored bytes disagree with what backup-push recorded; the file may be named too, when it is read before that shows.
        Assert.Contains(result.Problems, p => p.TarPartition == "part_001.tar.lz4" && p.Description.Contains("is damaged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_partition_and_a_truncated_one_are_reported()
    {
        var key = ArchiveLayout.TarPartitionsPrefix(_name) + "part_001.tar.lz4";
        var bytes = _archive.Store.GetBytes(key);
        await _archive.Store.PutAsync(key, new MemoryStream(bytes[..(bytes.Length / 2)]), PutMode.Overwrite, Token);
        await _archive.Store.DeleteAsync([ArchiveLayout.TarPartitionsPrefix(_name) + "pg_control.tar.lz4"], Token);

        var result = await _archive.Get<BackupVerifier>().VerifyAsync(_name, Token);

        Assert.False(result.IsValid);
        Assert.Contains(result.Problems, p => p.TarPartition == "pg_control.tar.lz4" && p.Description.Contains("missing", StringComparison.Ordinal));
        Assert.Contains(result.Problems, p => p.TarPartition == "part_001.tar.lz4"); // unreadable, or files recorded but absent
    }

    [Fact]
    public async Task A_partition_changed_only_in_a_tar_header_is_caught_by_its_stored_checksum()
    {
        // Every file's content is as recorded: only the stored-object checksum can tell.
        var recorded = ReadFilesMetadata();
        StoreTar("part_001.tar.lz4", _files, new FilesMetadata(), modified: DateTimeOffset.UnixEpoch.AddDays(1));
        _archive.Put(ArchiveLayout.FilesMetadataKey(_name), JsonSerializer.Serialize(recorded, PgArchiveJsonContext.Default.FilesMetadata));

        var result = await _archive.Get<BackupVerifier>().VerifyAsync(_name, Token);

        var problem = Assert.Single(result.Problems);
        Assert.Equal("part_001.tar.lz4", problem.TarPartition);
        Assert.Contains("part_001.tar.lz4' is damaged", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_flipped_byte_of_a_stored_partition_is_reported_as_damage_in_the_store_not_as_unreadable()
    {
        var key = ArchiveLayout.TarPartitionsPrefix(_name) + "part_001.tar.lz4";
        var original = _archive.Store.GetBytes(key);
        var verifier = _archive.Get<BackupVerifier>();
        var unexplained = new List<string>();
        for (var at = 0; at < original.Length; at++)
        {
            var damaged = (byte[])original.Clone();
            damaged[at] ^= 0x40;
            await _archive.Store.PutAsync(key, new MemoryStream(damaged), PutMode.Overwrite, Token);

            var result = await verifier.VerifyAsync(_name, Token);

            // Whatever the decompressor or tar reader made of it, the stored bytes' recorded checksum names the damage.
            var problems = result.Problems.Where(p => p.TarPartition == "part_001.tar.lz4").Select(p => p.Description).ToList();
            if (!problems.Any(d => d.Contains("part_001.tar.lz4' is damaged", StringComparison.Ordinal)
                || d.Contains("does not match the checksum recorded at backup-push", StringComparison.Ordinal)))
            {
                unexplained.Add($"byte {at}: {string.Join("; ", problems)}");
            }
        }

        Assert.True(original.Length > 100, $"the partition should be a real LZ4 object, {original.Length} bytes");
        Assert.Empty(unexplained);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("swapped")]
    public async Task Backup_fetch_refuses_a_damaged_partition_naming_it_and_leaves_the_target_empty(string damage)
    {
        var prefix = ArchiveLayout.TarPartitionsPrefix(_name);
        var original = _archive.Store.GetBytes(prefix + "part_001.tar.lz4");
        var bytes = original.ToArray();
        switch (damage)
        {
            case "truncated":
                bytes = bytes[..^7];
                break;
            case "flipped":
                bytes[bytes.Length / 2] ^= 0x01;
                break;
            default:
                bytes = _archive.Store.GetBytes(prefix + "pg_control.tar.lz4");
                break;
        }

        await _archive.Store.PutAsync(prefix + "part_001.tar.lz4", new MemoryStream(bytes), PutMode.Overwrite, Token);
        var target = Path.Combine(Path.GetTempPath(), "pgarchive-fetch-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ex = await Assert.ThrowsAnyAsync<PgArchiveException>(
                () => _archive.Get<BackupFetcher>().FetchAsync(new BackupFetchRequest { BackupName = _name, TargetDirectory = target }, Token));

            Assert.Contains(prefix + "part_001.tar.lz4", ex.Message, StringComparison.Ordinal);
            Assert.Equal([IncompleteRestoreMarker.FileName], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));
            Assert.Contains(ex.Message, await File.ReadAllTextAsync(Path.Combine(target, IncompleteRestoreMarker.FileName), Token), StringComparison.Ordinal);

            // Once the object is repaired, the same (marked) target takes the restore and loses the marker.
            await _archive.Store.PutAsync(prefix + "part_001.tar.lz4", new MemoryStream(original), PutMode.Overwrite, Token);
            await _archive.Get<BackupFetcher>().FetchAsync(new BackupFetchRequest { BackupName = _name, TargetDirectory = target }, Token);
            Assert.False(File.Exists(Path.Combine(target, IncompleteRestoreMarker.FileName)));
            Assert.Equal(_files["base/5/16384"], await File.ReadAllBytesAsync(Path.Combine(target, "base", "5", "16384"), Token));
        }
        finally
        {
            Directory.Delete(target, recursive: true);
        }
    }

    [Fact]
    public async Task Backup_fetch_refuses_a_file_whose_content_is_not_the_one_recorded()
    {
        // The partition is re-stored consistently (its stored checksum matches) but a file's content changed.
        var recorded = ReadFilesMetadata();
        var files = new FilesMetadata();
        _files["base/5/16384"][100] ^= 0x10;
        StoreTar("part_001.tar.lz4", _files, files);
        recorded.TarChecksums = files.TarChecksums;
        recorded.TarChecksums!["pg_control.tar.lz4"] = ReadFilesMetadata().TarChecksums!["pg_control.tar.lz4"];
        _archive.Put(ArchiveLayout.FilesMetadataKey(_name), JsonSerializer.Serialize(recorded, PgArchiveJsonContext.Default.FilesMetadata));
        var target = Path.Combine(Path.GetTempPath(), "pgarchive-fetch-" + Guid.NewGuid().ToString("N"));
        try
        {
            var ex = await Assert.ThrowsAsync<ObjectCorruptException>(
                () => _archive.Get<BackupFetcher>().FetchAsync(new BackupFetchRequest { BackupName = _name, TargetDirectory = target }, Token));

            Assert.Contains("/base/5/16384", ex.Message, StringComparison.Ordinal);
            Assert.Contains("part_001.tar.lz4", ex.Message, StringComparison.Ordinal);
            Assert.Equal([IncompleteRestoreMarker.FileName], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(target, recursive: true);
        }
    }

    private FilesMetadata ReadFilesMetadata() =>
        JsonSerializer.Deserialize(_archive.Store.GetBytes(ArchiveLayout.FilesMetadataKey(_name)), PgArchiveJsonContext.Default.FilesMetadata)!;
}
