using System.IO.Hashing;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Authentication;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// copy between stores encrypted with different keys: each payload (tar partitions, WAL) is decrypted with the source's
/// key and encrypted with the destination's, files_metadata.json records the new stored bytes, the destination restores
/// with its own key and not the source's, whatever the two methods (libsodium, OpenPGP, none); a rerun recognises what it
/// stored by decrypting it; nothing there is replaced.
/// </summary>
public sealed class ArchiveCopierReEncryptionTests(GpgHome gpg) : IClassFixture<GpgHome>, IDisposable
{
    private const string Backup = "base_000000010000000000000004";
    private const string Wal = "wal_005/000000010000000000000004.lz4";
    private const string Manifest = "basebackups_005/" + Backup + "/backup_manifest.lz4";
    private const string BlockMap = "wal_blockmaps_005/000000010000000000000004.blockmap.lz4";
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-copy-").FullName;
    private readonly List<ServiceProvider> _providers = [];
    private readonly InMemoryObjectStore _source = new();
    private readonly InMemoryObjectStore _destination = new();
    private IEncryptor _sourceKey = Libsodium();
    private IEncryptor _destinationKey = Libsodium();
    private readonly byte[] _pgControl = Codecs.Data(8192, seed: 42);
    private readonly byte[] _relation = Codecs.Data(300_000, seed: 43);
    private readonly byte[] _segment = Codecs.Data(100_000, seed: 44);
    private readonly byte[] _manifest = Codecs.Data(20_000, seed: 46);
    private readonly byte[] _blockMap = Codecs.Data(3_000, seed: 47);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    private ServiceProvider Services(IObjectStore store, IEncryptor encryptor)
    {
        var services = new ServiceCollection();
        services.AddSingleton(store);
        services.AddSingleton(encryptor);
        services.AddPgArchive(o => o.CompressionMethod = "lz4");
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }

    private static LibsodiumEncryptor Libsodium() => new(Codecs.RandomKey());

    private IEncryptor Encryptor(string method) => method switch
    {
        "libsodium" => Libsodium(),
        "pgp" => new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Curve.ArmoredSecret }),
        _ => new NoEncryptor(),
    };

    private ArchiveCopier Copier(IObjectStore? destination = null, IEncryptor? sourceKey = null) =>
        new(_source, sourceKey ?? _sourceKey, destination ?? _destination, _destinationKey);

    /// <summary>
    /// A backup as backup-push stores it (partitions encrypted with the source key, their stored sizes and XXH128 recorded;
    /// the server's backup_manifest encrypted too, as a remote backup-push stores it) and its WAL segment with its block map.
    /// </summary>
    private async Task StoreSourceAsync()
    {
        var services = Services(_source, _sourceKey);
        var codec = services.GetRequiredService<ObjectCodec>();
        var keys = await SyntheticBackup.StoreAsync(_source, codec, Backup,
            SyntheticBackup.Partitions(_pgControl, TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File("base/1/1259", _relation)));
        var files = ReadFiles(_source);
        files.TarChecksums = keys.Values.ToDictionary(k => k[ArchiveLayout.TarPartitionsPrefix(Backup).Length..], k => Checksum(_source.GetBytes(k)), StringComparer.Ordinal);
        await _source.PutAsync(ArchiveLayout.FilesMetadataKey(Backup), new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(files, PgArchiveJsonContext.Default.FilesMetadata)),
            PutMode.Overwrite, Token);
        await PutEncodedAsync(codec, Wal, _segment);
        await PutEncodedAsync(codec, Manifest, _manifest);
        await PutEncodedAsync(codec, BlockMap, _blockMap);
    }

    private async Task PutEncodedAsync(ObjectCodec codec, string key, byte[] plaintext)
    {
        using var stored = new MemoryStream();
        await using (var encode = codec.Encode(stored, codec.Compressors.Default))
        {
            await encode.WriteAsync(plaintext, Token);
        }

        await _source.PutAsync(key, new MemoryStream(stored.ToArray()), PutMode.Overwrite, Token);
    }

    private static FilesMetadata ReadFiles(InMemoryObjectStore store) =>
        JsonSerializer.Deserialize(store.GetBytes(ArchiveLayout.FilesMetadataKey(Backup)), PgArchiveJsonContext.Default.FilesMetadata)!;

    private static StoredChecksum Checksum(byte[] stored) => new(stored.Length, Convert.ToHexStringLower(XxHash128.Hash(stored)));

    private static IEnumerable<string> Partitions(InMemoryObjectStore store) =>
        store.Keys.Where(k => k.StartsWith(ArchiveLayout.TarPartitionsPrefix(Backup), StringComparison.Ordinal));

    private async Task<string> FetchAsync(IObjectStore store, IEncryptor key)
    {
        var target = Path.Combine(_root, Guid.NewGuid().ToString("N"));
        await Services(store, key).GetRequiredService<BackupFetcher>().FetchAsync(new BackupFetchRequest { TargetDirectory = target, BackupName = Backup }, Token);
        return target;
    }

    private async Task<byte[]> DecodeAsync(IObjectStore store, IEncryptor key, string objectKey)
    {
        var decoded = await Services(store, key).GetRequiredService<ObjectCodec>().OpenDecodedAsync(store, objectKey, Token);
        await using (decoded)
        {
            using var plaintext = new MemoryStream();
            await decoded.CopyToAsync(plaintext, Token);
            return plaintext.ToArray();
        }
    }

    [Theory]
    [InlineData("libsodium", "libsodium")]
    [InlineData("none", "libsodium")]
    [InlineData("libsodium", "none")]
    [InlineData("libsodium", "pgp")]
    [InlineData("pgp", "libsodium")]
    public async Task A_re_encrypted_copy_restores_with_the_destination_key_and_not_with_the_source_key(string from, string to)
    {
        (_sourceKey, _destinationKey) = (Encryptor(from), Encryptor(to));
        await StoreSourceAsync();

        var result = await Copier().CopyAsync(Backup, withHistory: false, concurrency: 3, Token);

        Assert.True(result.ReEncrypted);
        Assert.Equal((_source.Keys.Count, 0), (result.Copied, result.Skipped));
        var restored = await FetchAsync(_destination, _destinationKey);
        Assert.Equal(_relation, await File.ReadAllBytesAsync(Path.Combine(restored, "base", "1", "1259"), Token));
        Assert.Equal(_pgControl, await File.ReadAllBytesAsync(Path.Combine(restored, "global", "pg_control"), Token));
        Assert.Equal(_segment, await DecodeAsync(_destination, _destinationKey, Wal));
        Assert.Equal(_manifest, await DecodeAsync(_destination, _destinationKey, Manifest));
        Assert.Equal(_blockMap, await DecodeAsync(_destination, _destinationKey, BlockMap));
        var withSourceKey = await Assert.ThrowsAnyAsync<PgArchiveException>(() => FetchAsync(_destination, _sourceKey));
        Assert.Contains("tar_partitions/", withSourceKey.Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<InvalidDataException>(() => DecodeAsync(_destination, _sourceKey, Wal));
    }

    [Fact]
    public async Task Files_metadata_of_the_copy_records_the_size_and_checksum_of_each_re_encrypted_partition()
    {
        await StoreSourceAsync();

        await Copier().CopyAsync(Backup, withHistory: false, concurrency: 3, Token);

        var source = ReadFiles(_source);
        var copied = ReadFiles(_destination);
        Assert.Equal(3, copied.TarChecksums!.Count);
        foreach (var key in Partitions(_destination))
        {
            var name = key[ArchiveLayout.TarPartitionsPrefix(Backup).Length..];
            Assert.Equal(Checksum(_destination.GetBytes(key)), copied.TarChecksums[name]);
            Assert.NotEqual(source.TarChecksums![name], copied.TarChecksums[name]);
        }

        Assert.Equal(source.TarFileSets.Keys, copied.TarFileSets.Keys);
        Assert.Equal(source.Files.Keys, copied.Files.Keys);
        Assert.Equal(_source.GetBytes(ArchiveLayout.SentinelKey(Backup)), _destination.GetBytes(ArchiveLayout.SentinelKey(Backup)));
    }

    [Fact]
    public async Task A_rerun_after_a_copy_that_stopped_recognises_what_it_stored_and_stores_the_rest()
    {
        await StoreSourceAsync();
        await Copier().CopyAsync(Backup, withHistory: false, concurrency: 3, Token);
        var firstFiles = _destination.GetBytes(ArchiveLayout.FilesMetadataKey(Backup));
        var kept = _destination.GetBytes(Wal);
        var partition = Partitions(_destination).First();
        await _destination.DeleteAsync([ArchiveLayout.SentinelKey(Backup), ArchiveLayout.FilesMetadataKey(Backup), partition], Token);

        var resumed = await Copier().CopyAsync(Backup, withHistory: false, concurrency: 3, Token);
        var again = await Copier().CopyAsync(Backup, withHistory: false, concurrency: 3, Token);

        Assert.Equal((3, _source.Keys.Count - 3), (resumed.Copied, resumed.Skipped));
        Assert.Equal((0, _source.Keys.Count), (again.Copied, again.Skipped));
        Assert.Equal(kept, _destination.GetBytes(Wal));
        var files = ReadFiles(_destination);
        Assert.All(Partitions(_destination), key => Assert.Equal(Checksum(_destination.GetBytes(key)), files.TarChecksums![key[ArchiveLayout.TarPartitionsPrefix(Backup).Length..]]));
        Assert.NotEqual(firstFiles, _destination.GetBytes(ArchiveLayout.FilesMetadataKey(Backup)));
        var restored = await FetchAsync(_destination, _destinationKey);
        Assert.Equal(_relation, await File.ReadAllBytesAsync(Path.Combine(restored, "base", "1", "1259"), Token));
    }

    [Theory]
    [InlineData("another plaintext under the destination key")]
    [InlineData("the source's bytes, under the source key")]
    public async Task An_object_the_destination_holds_with_other_content_is_named_and_left_as_it_is(string what)
    {
        await StoreSourceAsync();
        var other = what.StartsWith("another", StringComparison.Ordinal)
            ? await Codecs.EncryptAsync(_destinationKey, await Codecs.CompressAsync(Codecs.Compressor("lz4"), Codecs.Data(100_000, seed: 45)))
            : _source.GetBytes(Wal);
        await _destination.PutAsync(Wal, new MemoryStream(other), PutMode.Overwrite, Token);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => Copier().CopyAsync(Backup, withHistory: false, concurrency: 3, Token));

        Assert.StartsWith($"'{Wal}' is already in the destination and is not what the copy stores: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Equal(other, _destination.GetBytes(Wal));
        Assert.DoesNotContain(ArchiveLayout.SentinelKey(Backup), _destination.Keys);
    }

    [Fact]
    public async Task A_source_payload_that_does_not_decrypt_with_the_source_key_is_named_and_not_stored()
    {
        await StoreSourceAsync();

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => Copier(sourceKey: Libsodium()).CopyAsync(Backup, withHistory: false, concurrency: 1, Token));

        Assert.Matches("^'(wal_005|basebackups_005)/[^']+' of the source cannot be decrypted with the source's key: ", ex.Message);
        Assert.DoesNotContain(_destination.Keys, k => k.StartsWith("wal_005/", StringComparison.Ordinal) || k.Contains("/tar_partitions/", StringComparison.Ordinal));
        Assert.DoesNotContain(ArchiveLayout.SentinelKey(Backup), _destination.Keys);
    }

    [Fact]
    public async Task A_partition_that_differs_from_its_recorded_checksum_is_refused_while_re_encrypting()
    {
        await StoreSourceAsync();
        var files = ReadFiles(_source);
        var name = files.TarChecksums!.Keys.First();
        files.TarChecksums[name] = files.TarChecksums[name] with { XxHash128 = new string('0', 32) };
        await _source.PutAsync(ArchiveLayout.FilesMetadataKey(Backup), new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(files, PgArchiveJsonContext.Default.FilesMetadata)),
            PutMode.Overwrite, Token);

        var ex = await Assert.ThrowsAsync<ObjectCorruptException>(() => Copier().CopyAsync(Backup, withHistory: false, concurrency: 1, Token));

        Assert.Contains(ArchiveLayout.TarPartitionsPrefix(Backup) + name, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ArchiveLayout.TarPartitionsPrefix(Backup) + name, _destination.Keys);
        Assert.DoesNotContain(ArchiveLayout.SentinelKey(Backup), _destination.Keys);
    }

    [Fact]
    public async Task The_same_key_on_both_sides_copies_byte_for_byte()
    {
        var key = Codecs.RandomKey();
        _sourceKey = new LibsodiumEncryptor(key);
        await StoreSourceAsync();
        var copier = new ArchiveCopier(_source, _sourceKey, _destination, new LibsodiumEncryptor(key));

        var result = await copier.CopyAsync(Backup, withHistory: false, concurrency: 3, Token);

        Assert.False(copier.ReEncrypts);
        Assert.False(result.ReEncrypted);
        Assert.All(_source.Keys, key => Assert.Equal(_source.GetBytes(key), _destination.GetBytes(key)));
    }

    [Fact]
    public async Task An_authenticated_destination_records_an_object_a_stopped_copy_stored_without_its_record()
    {
        await StoreSourceAsync();
        var authenticated = new AuthenticatingObjectStore(_destination, new ArchiveAuthenticationKey(Codecs.RandomKey()));
        await Copier(authenticated).CopyAsync(Backup, withHistory: false, concurrency: 3, Token);
        var partition = Partitions(_destination).First();
        await _destination.DeleteAsync([AuthenticatingObjectStore.SidecarKey(partition), AuthenticatingObjectStore.SidecarKey(Wal), ArchiveLayout.SentinelKey(Backup),
            AuthenticatingObjectStore.SidecarKey(ArchiveLayout.SentinelKey(Backup))], Token);

        var resumed = await Copier(authenticated).CopyAsync(Backup, withHistory: false, concurrency: 3, Token);

        Assert.Equal(1, resumed.Copied);
        Assert.Contains(AuthenticatingObjectStore.SidecarKey(partition), _destination.Keys);
        Assert.Equal(_segment, await DecodeAsync(authenticated, _destinationKey, Wal));
        var restored = await FetchAsync(authenticated, _destinationKey);
        Assert.Equal(_relation, await File.ReadAllBytesAsync(Path.Combine(restored, "base", "1", "1259"), Token));
    }
}
