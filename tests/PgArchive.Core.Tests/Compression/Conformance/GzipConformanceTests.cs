using PgArchive.Support;

namespace PgArchive.Compression.Conformance;

/// <summary>gzip, as some WAL-E-era archives hold it: what Debian's gzip writes meets the read-only decompressor contract.</summary>
public sealed class GzipConformanceTests : DecompressorConformanceTests<GzipDecompressor>
{
    protected override IReadOnlyList<string> ToolPackages => ["gzip"];

    protected override async Task<byte[]> EncodeWithToolAsync(byte[] data) => (await ExternalTool.RunAsync("gzip", ["-c"], data)).EnsureSuccess("gzip -c").Stdout;
}
