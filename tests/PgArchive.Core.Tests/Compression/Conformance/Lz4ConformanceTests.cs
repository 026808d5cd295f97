namespace PgArchive.Compression.Conformance;

/// <summary>lz4 (LZ4 frames with a content checksum) meets the compressor contract.</summary>
public sealed class Lz4ConformanceTests : CompressorConformanceTests<Lz4Compressor>
{
}
