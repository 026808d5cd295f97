namespace PgArchive.Compression.Conformance;

/// <summary>zstd (frames with a content checksum) meets the compressor contract.</summary>
public sealed class ZstdConformanceTests : CompressorConformanceTests<ZstdCompressor>
{
}
