using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PgArchive.Postgres;

/// <summary>
/// PostgreSQL's data-page checksum (<c>pg_checksum_page</c> of <c>src/include/storage/checksum_impl.h</c>):
/// 32 interleaved FNV-1a-like hashes over the page read as native-endian 32-bit words with the
/// <c>pd_checksum</c> field taken as zero, two extra rounds of zeros, the lanes folded by XOR, the block
/// number mixed in, and the result reduced to <c>(sum % 65535) + 1</c>. No .NET library implements it;
/// this is a transcription of PostgreSQL's C code, checked against pages of a real cluster.
/// </summary>
public static class PageChecksum
{
    /// <summary>PostgreSQL's default block size.</summary>
    public const int DefaultBlockSize = 8192;

    /// <summary>Offset of <c>pd_checksum</c> in the page header.</summary>
    public const int ChecksumOffset = 8;

    private const int Lanes = 32;
    private const uint FnvPrime = 16777619;

    private static readonly uint[] BaseOffsets =
    [
        0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A,
        0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
        0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA,
        0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
        0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE,
        0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
        0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E,
        0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756,
    ];

    /// <summary>
    /// The checksum PostgreSQL stores in <c>pd_checksum</c> for <paramref name="page"/> at block
    /// <paramref name="blockNumber"/> of its relation (counted across 1 GiB segment files). The page itself is not changed.
    /// </summary>
    /// <exception cref="ArgumentException">The page size is not a multiple of 128 bytes.</exception>
    public static ushort Compute(ReadOnlySpan<byte> page, uint blockNumber)
    {
        if (page.Length == 0 || page.Length % (sizeof(uint) * Lanes) != 0)
        {
            throw new ArgumentException($"A page of {page.Length} bytes cannot be checksummed: the size must be a multiple of {sizeof(uint) * Lanes}.", nameof(page));
        }

        // Native AOT compiles for a baseline without AVX2 by default: the 128-bit form keeps it vectorised there.
        var sum = Vector256.IsHardwareAccelerated ? BlockVector256(page)
            : Vector128.IsHardwareAccelerated ? BlockVector128(page)
            : BlockScalar(page);
        sum ^= blockNumber;
        return (ushort)((sum % 65535) + 1);
    }

    /// <summary>The checksum stored in the page header.</summary>
    public static ushort Stored(ReadOnlySpan<byte> page) => MemoryMarshal.Read<ushort>(page[ChecksumOffset..]);

    /// <summary>The page LSN (<c>pd_lsn</c>: high word, then low word, native-endian).</summary>
    public static ulong PageLsn(ReadOnlySpan<byte> page) =>
        ((ulong)MemoryMarshal.Read<uint>(page) << 32) | MemoryMarshal.Read<uint>(page[4..]);

    /// <summary>PostgreSQL's <c>PageIsNew</c>: <c>pd_upper</c> is zero, the page was never initialised and has no checksum.</summary>
    public static bool IsNew(ReadOnlySpan<byte> page) => MemoryMarshal.Read<ushort>(page[14..]) == 0;

    /// <summary>The scalar form, exactly as PostgreSQL's C code; kept to check the vectorised one.</summary>
    internal static uint BlockScalar(ReadOnlySpan<byte> page)
    {
        Span<uint> sums = stackalloc uint[Lanes];
        BaseOffsets.CopyTo(sums);
        var rows = page.Length / (sizeof(uint) * Lanes);
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < Lanes; j++)
            {
                var offset = ((i * Lanes) + j) * sizeof(uint);
                var value = ReadWord(page, offset);
                if (offset == ChecksumOffset)
                {
                    value &= ChecksumMaskForWord(); // pd_checksum counts as zero
                }

                sums[j] = Mix(sums[j], value);
            }
        }

        for (var round = 0; round < 2; round++)
        {
            for (var j = 0; j < Lanes; j++)
            {
                sums[j] = Mix(sums[j], 0);
            }
        }

        uint result = 0;
        foreach (var sum in sums)
        {
            result ^= sum;
        }

        return result;
    }

    /// <summary>The 32 lanes as 4 vectors of 8.</summary>
    internal static uint BlockVector256(ReadOnlySpan<byte> page)
    {
        var words = MemoryMarshal.Cast<byte, uint>(page);
        var s0 = Vector256.Create(BaseOffsets.AsSpan(0, 8));
        var s1 = Vector256.Create(BaseOffsets.AsSpan(8, 8));
        var s2 = Vector256.Create(BaseOffsets.AsSpan(16, 8));
        var s3 = Vector256.Create(BaseOffsets.AsSpan(24, 8));
        var prime = Vector256.Create(FnvPrime);

        // Row 0 holds the header: pd_checksum (bytes 8-9) counts as zero.
        Span<uint> first = stackalloc uint[8];
        words[..8].CopyTo(first);
        first[ChecksumOffset / sizeof(uint)] &= ChecksumMaskForWord();
        s0 = Mix(s0, Vector256.Create((ReadOnlySpan<uint>)first), prime);
        s1 = Mix(s1, Vector256.Create(words.Slice(8, 8)), prime);
        s2 = Mix(s2, Vector256.Create(words.Slice(16, 8)), prime);
        s3 = Mix(s3, Vector256.Create(words.Slice(24, 8)), prime);
        for (var row = Lanes; row < words.Length; row += Lanes)
        {
            s0 = Mix(s0, Vector256.Create(words.Slice(row, 8)), prime);
            s1 = Mix(s1, Vector256.Create(words.Slice(row + 8, 8)), prime);
            s2 = Mix(s2, Vector256.Create(words.Slice(row + 16, 8)), prime);
            s3 = Mix(s3, Vector256.Create(words.Slice(row + 24, 8)), prime);
        }

        for (var round = 0; round < 2; round++)
        {
            s0 = Mix(s0, Vector256<uint>.Zero, prime);
            s1 = Mix(s1, Vector256<uint>.Zero, prime);
            s2 = Mix(s2, Vector256<uint>.Zero, prime);
            s3 = Mix(s3, Vector256<uint>.Zero, prime);
        }

        var folded = s0 ^ s1 ^ s2 ^ s3;
        uint result = 0;
        for (var i = 0; i < Vector256<uint>.Count; i++)
        {
            result ^= folded.GetElement(i);
        }

        return result;
    }

    /// <summary>The 32 lanes as 8 vectors of 4 (SSE4.1, AdvSimd).</summary>
    internal static uint BlockVector128(ReadOnlySpan<byte> page)
    {
        var words = MemoryMarshal.Cast<byte, uint>(page);
        Span<Vector128<uint>> sums = stackalloc Vector128<uint>[Lanes / 4];
        for (var k = 0; k < sums.Length; k++)
        {
            sums[k] = Vector128.Create(BaseOffsets.AsSpan(k * 4, 4));
        }

        var prime = Vector128.Create(FnvPrime);

        // Row 0 holds the header: pd_checksum (bytes 8-9) counts as zero.
        Span<uint> first = stackalloc uint[4];
        words[..4].CopyTo(first);
        first[ChecksumOffset / sizeof(uint)] &= ChecksumMaskForWord();
        sums[0] = Mix(sums[0], Vector128.Create((ReadOnlySpan<uint>)first), prime);
        for (var k = 1; k < sums.Length; k++)
        {
            sums[k] = Mix(sums[k], Vector128.Create(words.Slice(k * 4, 4)), prime);
        }

        for (var row = Lanes; row < words.Length; row += Lanes)
        {
            var rowWords = words.Slice(row, Lanes);
            for (var k = 0; k < sums.Length; k++)
            {
                sums[k] = Mix(sums[k], Vector128.Create(rowWords.Slice(k * 4, 4)), prime);
            }
        }

        var folded = Vector128<uint>.Zero;
        for (var k = 0; k < sums.Length; k++)
        {
            var sum = Mix(Mix(sums[k], Vector128<uint>.Zero, prime), Vector128<uint>.Zero, prime);
            folded ^= sum;
        }

        uint result = 0;
        for (var i = 0; i < Vector128<uint>.Count; i++)
        {
            result ^= folded.GetElement(i);
        }

        return result;
    }

    private static uint Mix(uint checksum, uint value)
    {
        var tmp = checksum ^ value;
        return (tmp * FnvPrime) ^ (tmp >> 17);
    }

    private static Vector256<uint> Mix(Vector256<uint> checksum, Vector256<uint> value, Vector256<uint> prime)
    {
        var tmp = checksum ^ value;
        return (tmp * prime) ^ Vector256.ShiftRightLogical(tmp, 17);
    }

    private static Vector128<uint> Mix(Vector128<uint> checksum, Vector128<uint> value, Vector128<uint> prime)
    {
        var tmp = checksum ^ value;
        return (tmp * prime) ^ Vector128.ShiftRightLogical(tmp, 17);
    }

    private static uint ReadWord(ReadOnlySpan<byte> page, int offset) => MemoryMarshal.Read<uint>(page[offset..]);

    /// <summary>The mask that clears pd_checksum (the first two bytes of the third word) in native byte order.</summary>
    private static uint ChecksumMaskForWord() => BitConverter.IsLittleEndian ? 0xFFFF0000u : 0x0000FFFFu;
}
