using Microsoft.Extensions.Options;

namespace PgArchive.Compression.Sample;

/// <summary>
/// A sample codec, to show what adding one takes: method <c>xor</c>, objects <c>*.xor</c>, every byte XORed with
/// <see cref="XorCompressorOptions.Key"/>. It does not compress; it shows the plumbing.
/// </summary>
public sealed class XorCompressor(IOptions<XorCompressorOptions> options) : ICompressor
{
    private readonly byte _key = options.Value.Key;

    public string Method => "xor";

    public string FileExtension => "xor";

    public Stream CreateCompressionStream(Stream destination, bool leaveOpen = false) => new XorStream(destination, _key, writing: true, leaveOpen);

    public Stream CreateDecompressionStream(Stream source, bool leaveOpen = false) => new XorStream(source, _key, writing: false, leaveOpen);
}
