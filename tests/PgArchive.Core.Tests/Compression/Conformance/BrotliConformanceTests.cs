namespace PgArchive.Compression.Conformance;

/// <summary>brotli meets the compressor contract; its format has no checksum, so a changed byte may decode to other content.</summary>
public sealed class BrotliConformanceTests : CompressorConformanceTests<BrotliCompressor>
{
    protected override bool DetectsChangedByte => false;

    protected override bool EmptyObjectIsEmptyContent => false;
}
