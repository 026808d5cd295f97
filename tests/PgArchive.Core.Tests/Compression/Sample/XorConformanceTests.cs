using Microsoft.Extensions.DependencyInjection;
using PgArchive.Compression.Conformance;
using PgArchive.DependencyInjection;

namespace PgArchive.Compression.Sample;

/// <summary>The sample codec meets the compressor contract: registered with one line, it needs nothing else.</summary>
public sealed class XorConformanceTests : CompressorConformanceTests<XorCompressor>
{
    protected override bool DetectsTruncation => false;

    protected override bool DetectsChangedByte => false;

    protected override bool DetectsTrailingBytes => false;

    protected override bool Compresses => false;

    protected override void Register(IPgArchiveBuilder builder) =>
        builder.AddCompressor<XorCompressor, XorCompressorOptions, XorCompressorOptionsValidator>("Xor");
}
