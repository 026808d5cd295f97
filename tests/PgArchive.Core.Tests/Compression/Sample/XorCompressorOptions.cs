namespace PgArchive.Compression.Sample;

/// <summary>Options of the sample <see cref="XorCompressor"/>, bound from <c>PgArchive:Xor</c>.</summary>
public sealed class XorCompressorOptions
{
    /// <summary>The byte every byte is XORed with; 0 would store the data as it is, and is refused.</summary>
    public byte Key { get; set; } = 0x5A;
}
