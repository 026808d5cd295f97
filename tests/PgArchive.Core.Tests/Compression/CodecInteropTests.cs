using PgArchive.Support;

namespace PgArchive.Compression;

/// <summary>
/// Our output read by the reference implementations (lz4, zstd, brotli and xz command-line tools, liblzma through
/// Python's lzma module), and theirs read by us: the formats are the standard ones, not just self-consistent.
/// </summary>
public sealed class CodecInteropTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgarchive-codec-interop-").FullName;

    public async ValueTask InitializeAsync() =>
        await DebianPackages.EnsureInstalledAsync("zstd", "brotli", "xz-utils", "python3", "lz4");

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    private string WriteFile(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public async Task Lz4_output_is_read_by_the_lz4_tool_and_its_output_by_us()
    {
        // Several blocks, compressible and not; the tool checks the header and content checksums as it decodes.
        var data = Codecs.Data(5_000_000);
        var ours = WriteFile("ours.lz4", await Codecs.CompressAsync(new Lz4Compressor(), data));

        var decoded = (await ExternalTool.RunAsync("lz4", ["-d", "-c", ours])).EnsureSuccess("lz4 -d");
        Assert.True(Codecs.Same(data, decoded.Stdout), "lz4 -d returned different bytes");

        // The tool's defaults, without the content checksum, and 64 KiB blocks each with its own checksum.
        foreach (var options in new[] { new[] { "-c", "-" }, ["-c", "--no-frame-crc", "-"], ["-c", "-BX", "-B4", "-"] })
        {
            var theirs = (await ExternalTool.RunAsync("lz4", options, data)).EnsureSuccess("lz4 " + string.Join(' ', options));
            Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new Lz4Compressor(), theirs.Stdout)), "lz4 " + string.Join(' ', options));
        }
    }

    [Fact]
    public async Task Zstd_output_is_read_by_the_zstd_tool_and_its_output_by_us()
    {
        var data = Codecs.Data(2_500_000);
        var ours = WriteFile("ours.zst", await Codecs.CompressAsync(new ZstdCompressor(), data));

        var decoded = (await ExternalTool.RunAsync("zstd", ["-d", "-c", "--check", ours])).EnsureSuccess("zstd -d");
        Assert.True(Codecs.Same(data, decoded.Stdout), "zstd -d returned different bytes");

        var theirs = (await ExternalTool.RunAsync("zstd", ["-c", "-19", "--check", "-"], data)).EnsureSuccess("zstd -19");
        Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new ZstdCompressor(), theirs.Stdout)));
    }

    [Fact]
    public async Task Zstd_reads_several_concatenated_frames()
    {
        var first = (await ExternalTool.RunAsync("zstd", ["-c", "-"], "first "u8.ToArray())).EnsureSuccess("zstd").Stdout;
        var second = (await ExternalTool.RunAsync("zstd", ["-c", "-"], "second"u8.ToArray())).EnsureSuccess("zstd").Stdout;

        var result = await Codecs.DecompressAsync(new ZstdCompressor(), [.. first, .. second]);

        Assert.Equal("first second"u8.ToArray(), result);
    }

    [Fact]
    public async Task Brotli_output_is_read_by_the_brotli_tool_and_its_output_by_us()
    {
        var data = Codecs.Data(2_500_000);
        var ours = WriteFile("ours.br", await Codecs.CompressAsync(new BrotliCompressor(), data));

        var decoded = (await ExternalTool.RunAsync("brotli", ["-d", "-c", ours])).EnsureSuccess("brotli -d");
        Assert.True(Codecs.Same(data, decoded.Stdout), "brotli -d returned different bytes");

        var input = WriteFile("input", data);
        var theirs = (await ExternalTool.RunAsync("brotli", ["-c", "-q", "9", "-w", "24", input])).EnsureSuccess("brotli -q 9");
        Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new BrotliCompressor(), theirs.Stdout)));
    }

    [Fact]
    public async Task Lzma_header_is_the_one_walg_writes()
    {
        var stored = await Codecs.CompressAsync(new LzmaCompressor(), Codecs.Data(1000));

        // lc=3 lp=0 pb=2 → 0x5D; dictionary 8 MiB little endian; size unknown (all ones): ulikunitz/xz's defaults.
        Assert.Equal(new byte[] { 0x5D, 0x00, 0x00, 0x80, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, stored[..13]);
    }

    [Fact]
    public async Task Lzma_output_is_read_by_xz_and_liblzma_and_theirs_by_us()
    {
        var data = Codecs.Data(2_500_000);
        var ours = WriteFile("ours.lzma", await Codecs.CompressAsync(new LzmaCompressor(), data));

        var xz = (await ExternalTool.RunAsync("xz", ["--format=lzma", "-d", "-c", ours])).EnsureSuccess("xz --format=lzma -d");
        Assert.True(Codecs.Same(data, xz.Stdout), "xz returned different bytes");

        var python = (await ExternalTool.RunAsync("/usr/bin/python3", ["-c",
            "import lzma,sys; sys.stdout.buffer.write(lzma.decompress(open(sys.argv[1],'rb').read(), format=lzma.FORMAT_ALONE))", ours]))
            .EnsureSuccess("python3 lzma FORMAT_ALONE decompress");
        Assert.True(Codecs.Same(data, python.Stdout), "liblzma returned different bytes");

        var theirs = (await ExternalTool.RunAsync("xz", ["--format=lzma", "-c", "-6", "-"], data)).EnsureSuccess("xz --format=lzma");
        Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new LzmaCompressor(), theirs.Stdout)));
    }

    [Fact]
    public async Task Lzma_reads_a_header_with_a_known_size()
    {
        // The "alone" format may state the size instead of ending with a marker; liblzma writes this through its raw encoder + header.
        var data = Codecs.Data(300_000);
        var script = """
            import lzma, struct, sys
            data = sys.stdin.buffer.read()
            filters = [{"id": lzma.FILTER_LZMA1, "dict_size": 1 << 20, "lc": 3, "lp": 0, "pb": 2}]
            raw = lzma.compress(data, format=lzma.FORMAT_RAW, filters=filters)
            sys.stdout.buffer.write(bytes([0x5D]) + struct.pack("<I", 1 << 20) + struct.pack("<Q", len(data)) + raw)
            """;
        var theirs = (await ExternalTool.RunAsync("/usr/bin/python3", ["-c", script], data)).EnsureSuccess("python3 lzma raw");

        Assert.True(Codecs.Same(data, await Codecs.DecompressAsync(new LzmaCompressor(), theirs.Stdout)));
    }
}
