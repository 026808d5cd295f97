namespace PgArchive.Compression.Conformance;

/// <summary>lzma (LZMA alone, end marker) meets the compressor contract.</summary>
public sealed class LzmaConformanceTests : CompressorConformanceTests<LzmaCompressor>
{
    protected override bool EmptyObjectIsEmptyContent => false;

    // The encoder's match finder for WAL-G's 8 MiB dictionary takes about 185 MB, once per stream, whatever the data
    // (liblzma's takes about 94 MiB); decoding takes the dictionary.
    protected override long AllocationBudget => 256L << 20;
}
