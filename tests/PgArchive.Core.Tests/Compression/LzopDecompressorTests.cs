using Microsoft.Extensions.DependencyInjection;
using PgArchive.Support;
using PgArchive.Wal;

namespace PgArchive.Compression;

/// <summary>
/// WAL-E's <c>.lzo</c> objects: what Debian's <c>lzop</c> 1.04 writes (its default level, -1, -9, --crc32; empty
/// input, one byte, text, WAL-like pages, incompressible blocks stored as they are, many 256 KiB blocks, a tar of real
/// files) decodes byte for byte to its input, and damage of every kind is an <see cref="InvalidDataException"/>; through
/// wal-fetch the failure names the object. Also <c>.gz</c> objects, which some WAL-E-era archives hold.
/// </summary>
public sealed class LzopDecompressorTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgarchive-lzop-").FullName;

    public async ValueTask InitializeAsync() => await DebianPackages.EnsureInstalledAsync("lzop", "tar", "gzip");

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> Inputs() => ["empty", "one byte", "text", "wal pages", "incompressible", "mixed, many blocks", "tar of real files"];

    public static TheoryData<string> Levels() => ["default", "-1", "-9", "--crc32", "-9 --crc32"];

    private static async Task<byte[]> InputAsync(string kind) => kind switch
    {
        "empty" => [],
        "one byte" => [42],
        "text" => System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("PostgreSQL WAL-E lzop archive, ", 1000))),
        "wal pages" => WalSegments.Create("000000010000000000000003", size => Codecs.Data(size, seed: 3)),
        "incompressible" => System.Security.Cryptography.RandomNumberGenerator.GetBytes(700_000),
        "mixed, many blocks" => Codecs.Data(3_000_000, seed: 7),
        _ => (await ExternalTool.RunAsync("tar", ["-c", "-C", AppContext.BaseDirectory, "."])).EnsureSuccess("tar -c").Stdout,
    };

    private static async Task<byte[]> LzopAsync(byte[] data, string level)
    {
        string[] options = level == "default" ? ["-c"] : ["-c", .. level.Split(' ')];
        return (await ExternalTool.RunAsync("lzop", options, data)).EnsureSuccess("lzop " + level).Stdout;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Lzop_output_decodes_to_its_input_at_every_level(string kind)
    {
        var data = await InputAsync(kind);
        foreach (var level in Levels())
        {
            var stored = await LzopAsync(data, level);
            Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new LzopDecompressor(), stored)), $"{kind}, lzop {level}: async read differs");
            Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new LzopDecompressor(), stored, asynchronous: false)), $"{kind}, lzop {level}: sync read differs");
        }
    }

    [Fact]
    public async Task Lzop_file_with_a_name_and_mode_in_its_header_decodes()
    {
        // lzop FILE (not a pipe) records the file's name, mode and time in the header; lzop -t agrees it is sound.
        var data = Codecs.Data(600_000, seed: 11);
        var path = Path.Combine(_dir, "000000010000000000000004");
        await File.WriteAllBytesAsync(path, data, Token);
        (await ExternalTool.RunAsync("lzop", [path])).EnsureSuccess("lzop FILE");
        var stored = await File.ReadAllBytesAsync(path + ".lzo", Token);
        (await ExternalTool.RunAsync("lzop", ["-t", path + ".lzo"])).EnsureSuccess("lzop -t");

        Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new LzopDecompressor(), stored)));
    }

    public static TheoryData<string> Damages() =>
    [
        "not lzop", "empty object", "header byte", "compressed byte", "stored byte", "decoded checksum", "cut in a block", "cut before the end marker", "bytes after the end",
    ];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Damaged_lzop_data_is_invalid_data(string damage)
    {
        // Block 1 compresses, block 2 (random) is stored as it is: 256 KiB each, as lzop cuts them.
        var data = Codecs.Data(256 * 1024, seed: 5).Concat(System.Security.Cryptography.RandomNumberGenerator.GetBytes(256 * 1024)).ToArray();
        var stored = await LzopAsync(data, "default");
        var headerEnd = HeaderLength(stored);
        var firstStored = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(stored.AsSpan(headerEnd + 4));
        var secondBlock = headerEnd + 12 + firstStored;
        var damaged = damage switch
        {
            "not lzop" => System.Text.Encoding.ASCII.GetBytes("this is not an lzop file at all"),
            "empty object" => [],
            "header byte" => Flip(stored, 12),
            "compressed byte" => Flip(stored, headerEnd + 12 + firstStored / 2),
            "stored byte" => Flip(stored, secondBlock + 12 + 1000),
            "decoded checksum" => Flip(stored, headerEnd + 9),
            "cut in a block" => stored[..(secondBlock + 500)],
            "cut before the end marker" => stored[..^4],
            _ => [.. stored, 0],
        };

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecompressAsync(new LzopDecompressor(), damaged));
        Assert.Matches("lzop|LZO1X", error.Message);
    }

    [Fact]
    public async Task A_damaged_lzo_segment_fails_wal_fetch_naming_the_object_and_writes_nothing()
    {
        var name = "000000010000000000000005";
        var segment = WalSegments.Create(name, size => Codecs.Data(size, seed: 9));
        var stored = await LzopAsync(segment, "default");
        var archive = Path.Combine(_dir, "archive");
        Directory.CreateDirectory(Path.Combine(archive, "wal_005"));
        await File.WriteAllBytesAsync(Path.Combine(archive, "wal_005", name + ".lzo"), Flip(stored, stored.Length / 2), Token);
        using var provider = new ServiceCollection().AddPgArchive().UseLocalFileSystem(archive).Services.BuildServiceProvider();
        var destination = Path.Combine(_dir, "fetched");

        var error = await Assert.ThrowsAsync<PgArchiveException>(() => provider.GetRequiredService<WalArchiver>().FetchAsync(name, destination, Token));

        Assert.Contains($"'wal_005/{name}.lzo' is corrupt", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));
    }

    [Fact]
    public async Task Lzo_segments_are_fetched_by_wal_fetch_whatever_method_writes()
    {
        var name = "000000010000000000000006";
        var segment = WalSegments.Create(name, size => Codecs.Data(size, seed: 6));
        var archive = Path.Combine(_dir, "archive-ok");
        Directory.CreateDirectory(Path.Combine(archive, "wal_005"));
        await File.WriteAllBytesAsync(Path.Combine(archive, "wal_005", name + ".lzo"), await LzopAsync(segment, "default"), Token);
        using var provider = new ServiceCollection().AddPgArchive(o => o.CompressionMethod = "zstd").UseLocalFileSystem(archive).Services.BuildServiceProvider();
        var destination = Path.Combine(_dir, "fetched-ok");

        var key = await provider.GetRequiredService<WalArchiver>().FetchAsync(name, destination, Token);

        Assert.Equal($"wal_005/{name}.lzo", key);
        Assert.True(Codecs.Same(segment, await File.ReadAllBytesAsync(destination, Token)));
    }

    [Fact]
    public void Lzo_is_refused_as_the_method_to_write_with()
    {
        using var provider = new ServiceCollection().AddPgArchive(o => o.CompressionMethod = "lzo").UseInMemory().Services.BuildServiceProvider();

        var error = Assert.Throws<PgArchiveConfigurationException>(() => provider.GetRequiredService<CompressorRegistry>());

        Assert.Contains("'lzo' (WALG_COMPRESSION_METHOD) is read, never written", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gzip_output_of_the_gzip_tool_decodes_and_a_cut_altered_or_extended_one_is_invalid_data()
    {
        var data = Codecs.Data(1_500_000, seed: 4);
        var stored = (await ExternalTool.RunAsync("gzip", ["-c"], data)).EnsureSuccess("gzip -c").Stdout;
        var best = (await ExternalTool.RunAsync("gzip", ["-c", "-9"], data)).EnsureSuccess("gzip -9").Stdout;

        Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new GzipDecompressor(), stored)));
        Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new GzipDecompressor(), best, asynchronous: false)));
        await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecompressAsync(new GzipDecompressor(), stored[..(stored.Length / 2)]));
        await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecompressAsync(new GzipDecompressor(), stored[..^3]));
        await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecompressAsync(new GzipDecompressor(), Flip(stored, stored.Length - 6)));
        var other = (await ExternalTool.RunAsync("gzip", ["-c"], Codecs.Data(1000, seed: 8))).EnsureSuccess("gzip -c").Stdout;
        var second = await Assert.ThrowsAsync<InvalidDataException>(() => Codecs.DecompressAsync(new GzipDecompressor(), [.. stored, .. other]));
        Assert.Contains("after its first member", second.Message, StringComparison.Ordinal);
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = bytes.ToArray();
        copy[at] ^= 0x5A;
        return copy;
    }

    /// <summary>The length of lzop's file header as lzop -c writes it from a pipe (no name, no extra field).</summary>
    private static int HeaderLength(byte[] stored) => 9 + 2 + 2 + 2 + 1 + 1 + 4 + 4 + 4 + 4 + 1 + stored[9 + 2 + 2 + 2 + 1 + 1 + 4 + 4 + 4 + 4] + 4;
}
