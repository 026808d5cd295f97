using BenchmarkDotNet.Attributes;
using PgArchive.Compression;

namespace PgArchive.Benchmarks;

/// <summary>Each compressor over each real input: compress and decompress, single-threaded.</summary>
public class CodecBenchmarks
{
    private byte[] _input = [];
    private byte[] _compressed = [];
    private ICompressor _compressor = null!;

    [Params("lz4", "zstd", "brotli", "lzma")]
    public string Codec { get; set; } = "";

    [Params("heap", "index", "wal")]
    public string Input { get; set; } = "";

    /// <summary>The compressors as PgArchive registers them, with their default levels (WAL-G's).</summary>
    public static ICompressor Create(string method) => method switch
    {
        "lz4" => new Lz4Compressor(),
        "zstd" => new ZstdCompressor(),
        "brotli" => new BrotliCompressor(),
        "lzma" => new LzmaCompressor(),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    [GlobalSetup]
    public void Setup()
    {
        _input = BenchmarkInputs.Load(Input);
        _compressor = Create(Codec);
        using var stored = new MemoryStream();
        using (var compress = _compressor.CreateCompressionStream(stored, leaveOpen: true))
        {
            compress.Write(_input);
        }

        _compressed = stored.ToArray();
        Results.Record(Codec, Input, _input.Length, _compressed.Length);
    }

    [Benchmark]
    public long Compress()
    {
        var sink = new CountingStream();
        using (var compress = _compressor.CreateCompressionStream(sink, leaveOpen: true))
        {
            compress.Write(_input);
        }

        return sink.Length;
    }

    [Benchmark]
    public long Decompress()
    {
        using var decompress = _compressor.CreateDecompressionStream(new MemoryStream(_compressed, writable: false));
        var sink = new CountingStream();
        decompress.CopyTo(sink, 1 << 16);
        return sink.Length;
    }
}
