using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;
using PgArchive.Support;

namespace PgArchive.Wal;

/// <summary>
/// One archive written over time with different compression methods (and, per test, one encryption key) is
/// read back through <see cref="WalArchiver"/> whatever the reader's own method: decompression follows each
/// object's extension. And the ways a wrong key or a damaged object fail: naming the object, writing nothing.
/// </summary>
public sealed class MixedArchiveTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-mixed-").FullName;
    private readonly List<ServiceProvider> _providers = [];
    private readonly byte[] _key = Codecs.RandomKey();

    private string Archive => Path.Combine(_root, "archive");

    private string PgWal => Directory.CreateDirectory(Path.Combine(_root, "pg_wal")).FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    private WalArchiver Archiver(string method, Action<IPgArchiveBuilder>? encryption = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddPgArchive(o => o.CompressionMethod = method).UseLocalFileSystem(Archive);
        encryption?.Invoke(builder);
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider.GetRequiredService<WalArchiver>();
    }

    private void Libsodium(IPgArchiveBuilder builder) =>
        builder.UseLibsodiumEncryption(o => (o.Key, o.KeyTransform) = (Convert.ToHexString(_key), LibsodiumKeyTransform.Hex));

    private string Segment(string name, int seed)
    {
        var path = Path.Combine(PgWal, name);
        File.WriteAllBytes(path, WalSegments.Create(name, size => Codecs.Data(size, seed)));
        return path;
    }

    private string[] ArchivedFiles() => [.. Directory.GetFiles(Path.Combine(Archive, "wal_005")).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    public static TheoryData<string, bool> Readers() => new()
    {
        { "lz4", false }, { "zstd", false }, { "brotli", false }, { "lzma", false }, { "none", false },
        { "lz4", true }, { "brotli", true },
    };

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Segments_written_with_different_methods_are_all_fetched(string readerMethod, bool encrypted)
    {
        Action<IPgArchiveBuilder>? encryption = encrypted ? Libsodium : null;
        var writers = new[] { ("lz4", "000000010000000000000001"), ("zstd", "000000010000000000000002"), ("lzma", "000000010000000000000003"), ("brotli", "000000010000000000000004"), ("none", "000000010000000000000005") };
        var sources = new Dictionary<string, string>();
        foreach (var (method, name) in writers)
        {
            sources[name] = Segment(name, seed: name.GetHashCode(StringComparison.Ordinal));
            await Archiver(method, encryption).PushAsync(sources[name], Token);
        }

        Assert.Equal(
            ["000000010000000000000001.lz4", "000000010000000000000002.zst", "000000010000000000000003.lzma", "000000010000000000000004.br", "000000010000000000000005"],
            ArchivedFiles());

        var reader = Archiver(readerMethod, encryption);
        foreach (var (method, name) in writers)
        {
            var destination = Path.Combine(_root, "restored-" + name);
            var key = await reader.FetchAsync(name, destination, Token);

            Assert.EndsWith(name + (method switch { "lz4" => ".lz4", "zstd" => ".zst", "lzma" => ".lzma", "brotli" => ".br", _ => "" }), key, StringComparison.Ordinal);
            Assert.True(Codecs.Same(await File.ReadAllBytesAsync(sources[name], Token), await File.ReadAllBytesAsync(destination, Token)), $"{name} ({method})");
        }
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("brotli")]
    [InlineData("lzma")]
    public async Task Encrypted_segment_is_not_stored_in_the_clear(string method)
    {
        var source = Segment("000000010000000000000007", 7);
        var result = await Archiver(method, Libsodium).PushAsync(source, Token);

        var stored = await File.ReadAllBytesAsync(Path.Combine(Archive, result.Key), Token);
        Assert.True(Codecs.Same(await File.ReadAllBytesAsync(source, Token),
            await Codecs.DecompressAsync(Codecs.Compressor(method), await Codecs.DecryptAsync(new LibsodiumEncryptor(_key), stored))));
    }

    [Fact]
    public async Task Fetch_with_the_wrong_key_fails_naming_the_object_and_writes_nothing()
    {
        await Archiver("zstd", Libsodium).PushAsync(Segment("000000010000000000000008", 8), Token);
        var other = Archiver("zstd", b => b.UseLibsodiumEncryption(o => (o.Key, o.KeyTransform) = (Convert.ToHexString(Codecs.RandomKey()), LibsodiumKeyTransform.Hex)));
        var destination = Path.Combine(PgWal, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => other.FetchAsync("000000010000000000000008", destination, Token));

        Assert.Contains("wal_005/000000010000000000000008.zst", ex.Message, StringComparison.Ordinal);
        Assert.Contains("key differs", ex.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(ex.InnerException);
        Assert.False(File.Exists(destination));
        Assert.DoesNotContain(Directory.GetFiles(PgWal), f => f.Contains("pgarchive-tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fetch_of_an_encrypted_segment_without_a_key_fails_naming_the_object()
    {
        await Archiver("lz4", Libsodium).PushAsync(Segment("000000010000000000000009", 9), Token);
        var destination = Path.Combine(PgWal, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => Archiver("lz4").FetchAsync("000000010000000000000009", destination, Token));

        Assert.Contains("wal_005/000000010000000000000009.lz4", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("brotli")]
    [InlineData("lzma")]
    public async Task Fetch_of_a_segment_cut_at_a_chunk_boundary_fails_and_writes_nothing(string method)
    {
        var result = await Archiver(method, Libsodium).PushAsync(Segment("00000001000000000000000A", 10), Token);
        var path = Path.Combine(Archive, result.Key);
        var stored = await File.ReadAllBytesAsync(path, Token);
        var fullChunks = (stored.Length - 24 - 17) / 8209;
        await File.WriteAllBytesAsync(path, stored[..(24 + (fullChunks * 8209))], Token); // drop exactly the FINAL chunk
        var destination = Path.Combine(PgWal, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => Archiver(method, Libsodium).FetchAsync("00000001000000000000000A", destination, Token));

        Assert.Contains(result.Key, ex.Message, StringComparison.Ordinal);
        Assert.Contains("FINAL", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));
    }

    [Fact]
    public async Task Push_over_an_object_written_with_another_key_fails_clearly_and_keeps_it()
    {
        var source = Segment("00000001000000000000000B", 11);
        var first = await Archiver("zstd", Libsodium).PushAsync(source, Token);
        var before = await File.ReadAllBytesAsync(Path.Combine(Archive, first.Key), Token);
        var other = Archiver("zstd", b => b.UseLibsodiumEncryption(o => (o.Key, o.KeyTransform) = (Convert.ToHexString(Codecs.RandomKey()), LibsodiumKeyTransform.Hex)));

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => other.PushAsync(source, Token));

        Assert.Contains(first.Key, ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(Path.Combine(Archive, first.Key), Token));
    }
}
