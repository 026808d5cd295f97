using PgArchive.Support;

namespace PgArchive.Compression.Conformance;

/// <summary>WAL-E's lzo: what Debian's lzop writes meets the read-only decompressor contract.</summary>
public sealed class LzopConformanceTests : DecompressorConformanceTests<LzopDecompressor>
{
    protected override IReadOnlyList<string> ToolPackages => ["lzop"];

    protected override async Task<byte[]> EncodeWithToolAsync(byte[] data) => (await ExternalTool.RunAsync("lzop", ["-c"], data)).EnsureSuccess("lzop -c").Stdout;
}
