using System.Formats.Tar;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// backup-fetch over encrypted, compressed tar partitions built here (no PostgreSQL needed): a good backup
/// restores; a damaged or cut one, or the wrong key, fails naming the object and leaves nothing in the target.
/// </summary>
public sealed class EncryptedBackupFetchTests : IDisposable
{
    private const string Backup = "base_000000010000000000000004";
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-fetch-").FullName;
    private readonly List<ServiceProvider> _providers = [];
    private readonly InMemoryObjectStore _store = new();
    private readonly byte[] _key = Codecs.RandomKey();
    private readonly byte[] _pgControl = Codecs.Data(8192, seed: 42);
    private readonly byte[] _relation = Codecs.Data(300_000, seed: 43);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    private ServiceProvider Services(string method, Action<IPgArchiveBuilder> encryption)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IObjectStore>(_store);
        encryption(services.AddPgArchive(o => o.CompressionMethod = method));
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }

    private void Libsodium(IPgArchiveBuilder b) => b.UseLibsodiumEncryption(o => (o.Key, o.KeyTransform) = (Convert.ToHexString(_key), LibsodiumKeyTransform.Hex));

    private static void OtherKey(IPgArchiveBuilder b) => b.UseLibsodiumEncryption(o => (o.Key, o.KeyTransform) = (Convert.ToHexString(Codecs.RandomKey()), LibsodiumKeyTransform.Hex));

    /// <summary>Stores a backup as backup-push would: tar partitions encoded through the codec, then the plain sentinel.</summary>
    private Task<Dictionary<string, string>> StoreBackupAsync(ServiceProvider services) =>
        SyntheticBackup.StoreAsync(_store, services.GetRequiredService<ObjectCodec>(), Backup,
            SyntheticBackup.Partitions(_pgControl, TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File("base/1/1259", _relation)),
            withFilesMetadata: false);

    private static Task<BackupFetchResult> FetchAsync(ServiceProvider services, string target) =>
        services.GetRequiredService<BackupFetcher>().FetchAsync(new BackupFetchRequest { TargetDirectory = target, BackupName = Backup }, Token);

    private byte[] Stored(string key) => _store.GetBytes(key);

    private Task Replace(string key, byte[] bytes) => _store.PutAsync(key, new MemoryStream(bytes), PutMode.Overwrite, Token);

    [Theory]
    [InlineData("zstd")]
    [InlineData("brotli")]
    [InlineData("lzma")]
    [InlineData("lz4")]
    public async Task Encrypted_backup_restores(string method)
    {
        var services = Services(method, Libsodium);
        await StoreBackupAsync(services);
        var target = Path.Combine(_root, "restored");

        await FetchAsync(services, target);

        Assert.Equal(_pgControl, await File.ReadAllBytesAsync(Path.Combine(target, "global", "pg_control"), Token));
        Assert.Equal(_relation, await File.ReadAllBytesAsync(Path.Combine(target, "base", "1", "1259"), Token));
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("brotli")]
    [InlineData("lzma")]
    [InlineData("lz4")]
    public async Task Partition_whose_final_chunk_is_missing_fails_and_leaves_no_pg_control(string method)
    {
        var services = Services(method, Libsodium);
        var keys = await StoreBackupAsync(services);
        var stored = Stored(keys["pg_control.tar"]);
        var fullChunks = (stored.Length - 24 - 17) / 8209;
        await Replace(keys["pg_control.tar"], stored[..(24 + (fullChunks * 8209))]);
        var target = Path.Combine(_root, "restored");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => FetchAsync(services, target));

        Assert.Contains(keys["pg_control.tar"], ex.Message, StringComparison.Ordinal);
        Assert.Contains("FINAL", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(target, "global", "pg_control")), "a restore that failed must not look startable");
        Assert.Equal([IncompleteRestoreMarker.FileName], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Partition_cut_exactly_after_its_tar_end_marker_fails_for_lack_of_the_final_chunk()
    {
        // Uncompressed tar of exactly two 8192-byte chunks: the tar reader sees its end marker before the cut, so
        // only reading on to the object's end notices that the FINAL chunk is gone.
        var services = Services("none", Libsodium);
        var keys = await StoreBackupAsync(services);
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.V7, leaveOpen: true))
        {
            await writer.WriteEntryAsync(new V7TarEntry(TarEntryType.V7RegularFile, "global/pg_control") { DataStream = new MemoryStream(new byte[16384 - 1536]) }, Token);
        }

        Assert.Equal(16384, tar.Length);
        var sealedTar = await Codecs.EncryptAsync(new LibsodiumEncryptor(_key), tar.ToArray());
        await Replace(keys["pg_control.tar"], sealedTar[..(24 + (2 * 8209))]);
        var target = Path.Combine(_root, "restored");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => FetchAsync(services, target));

        Assert.Contains(keys["pg_control.tar"] + "'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("FINAL", ex.Message, StringComparison.Ordinal);
        Assert.Equal([IncompleteRestoreMarker.FileName], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Wrong_key_fails_naming_a_partition_and_leaves_the_target_empty()
    {
        var keys = await StoreBackupAsync(Services("zstd", Libsodium));
        var target = Path.Combine(_root, "restored");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => FetchAsync(Services("zstd", OtherKey), target));

        // part_001.tar and backup_label.tar are fetched side by side: whichever fails first is the one named.
        Assert.True(ex.Message.Contains($"'{keys["part_001.tar"]}'", StringComparison.Ordinal) || ex.Message.Contains($"'{keys["backup_label.tar"]}'", StringComparison.Ordinal),
            ex.Message);
        Assert.Contains("key differs", ex.Message, StringComparison.Ordinal);
        Assert.Equal([IncompleteRestoreMarker.FileName], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Changed_byte_in_pg_control_partition_fails_and_leaves_the_target_empty()
    {
        var services = Services("brotli", Libsodium);
        var keys = await StoreBackupAsync(services);
        var stored = Stored(keys["pg_control.tar"]);
        stored[stored.Length - 5] ^= 0x20;
        await Replace(keys["pg_control.tar"], stored);
        var target = Path.Combine(_root, "restored");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => FetchAsync(services, target));

        Assert.Contains(keys["pg_control.tar"], ex.Message, StringComparison.Ordinal);
        Assert.Equal([IncompleteRestoreMarker.FileName], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));
    }
}
