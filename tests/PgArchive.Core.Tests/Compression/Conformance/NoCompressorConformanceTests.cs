namespace PgArchive.Compression.Conformance;

/// <summary>none stores bytes as they are: nothing to detect, the rest of the contract holds.</summary>
public sealed class NoCompressorConformanceTests : CompressorConformanceTests<NoCompressor>
{
    protected override bool DetectsTruncation => false;

    protected override bool DetectsChangedByte => false;

    protected override bool DetectsTrailingBytes => false;

    protected override bool Compresses => false;
}
