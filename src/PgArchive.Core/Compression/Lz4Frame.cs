using K4os.Hash.xxHash;

namespace PgArchive.Compression;

/// <summary>The fields of the LZ4 frame format that <see cref="Lz4ParallelEncoderStream"/> writes and <see cref="Lz4FrameDecoderStream"/> reads.</summary>
internal static class Lz4Frame
{
    /// <summary>The magic number that opens a frame.</summary>
    public const uint Magic = 0x184D2204;

    /// <summary>The magic number, as it is stored (little endian).</summary>
    public static ReadOnlySpan<byte> MagicBytes => [0x04, 0x22, 0x4D, 0x18];

    /// <summary>The high bit of a block's size field: the block is stored as it is.</summary>
    public const uint UncompressedBlockFlag = 0x8000_0000;

    /// <summary>The header checksum: the second byte of XXH32 over the frame descriptor (FLG through the dictionary ID).</summary>
    public static byte HeaderChecksum(ReadOnlySpan<byte> descriptor) => (byte)(XXH32.DigestOf(descriptor) >> 8);
}
