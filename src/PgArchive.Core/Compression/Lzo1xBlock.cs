namespace PgArchive.Compression;

/// <summary>
/// Decodes one LZO1X block, what <c>lzop</c> stores per block with any of its methods (LZO1X-1, LZO1X-1(15),
/// LZO1X-999: they differ only in how hard the compressor searches). Written for PgArchive from the format as
/// documented (the LZO1X instruction set: literal runs, M1-M4 matches, the end marker); bounds are checked on every
/// read and write, so damaged input is an <see cref="InvalidDataException"/>, never a read or write out of range.
/// </summary>
/// <remarks>
/// The stream is a sequence of instructions. The state after an instruction is the number of literals that followed
/// the previous match (0-3; "4" after a literal run of four or more), which changes what an instruction byte below 16
/// means: after a match with no trailing literals it starts a literal run; after a match with 1-3 it is a 2-byte match
/// within 1 KiB; after a long literal run it is a 3-byte match 2-3 KiB back. Bytes 16-31 (M4) reach 16-48 KiB back,
/// 32-63 (M3) up to 16 KiB, 64-255 (M2) up to 2 KiB. The last two bits of a match's distance bytes give the number of
/// literals that follow it. M4 with distance 16384 exactly (0x11 0x00 0x00) ends the block.
/// </remarks>
internal static class Lzo1xBlock
{
    /// <summary>
    /// Decodes <paramref name="source"/> (one whole block, end marker included) into <paramref name="destination"/>,
    /// which must be exactly the decoded size.
    /// </summary>
    /// <exception cref="InvalidDataException">The block is damaged: it reads or writes out of bounds, refers before the
    /// start of the output, lacks its end marker, has bytes after it, or decodes to another size.</exception>
    public static void Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var ip = 0;
        var op = 0;
        int state;

        // A first byte above 17 is a literal run of (byte - 17) with no instruction before it.
        if (Byte(source, ref ip) is var first && first > 17)
        {
            var run = first - 17;
            CopyLiterals(source, ref ip, destination, ref op, run);
            state = run < 4 ? run : 4;
        }
        else
        {
            ip = 0;
            state = 0;
        }

        while (true)
        {
            var t = Byte(source, ref ip);
            int length;
            int distance;
            if (t < 16)
            {
                if (state == 0)
                {
                    // A literal run of 4 or more: 3 + t, or with t == 0 a zero-byte-extended length.
                    var run = t == 0 ? 3 + 15 + ExtendedLength(source, ref ip) : t + 3;
                    CopyLiterals(source, ref ip, destination, ref op, run);
                    state = 4;
                    continue;
                }

                // M1: after a long literal run a 3-byte match 2049-3072 back, else a 2-byte match 1-1024 back.
                distance = (t >> 2) + (Byte(source, ref ip) << 2) + 1 + (state == 4 ? 0x800 : 0);
                length = state == 4 ? 3 : 2;
            }
            else if (t >= 64)
            {
                // M2: 3-8 bytes, 1-2048 back; three bits of the distance in the instruction.
                length = (t >> 5) + 1;
                distance = ((t >> 2) & 7) + (Byte(source, ref ip) << 3) + 1;
            }
            else if (t >= 32)
            {
                // M3: 3+ bytes, 1-16384 back; 14-bit little-endian distance after the length.
                length = (t & 31) == 0 ? 2 + 31 + ExtendedLength(source, ref ip) : (t & 31) + 2;
                distance = LittleEndianDistance(source, ref ip) + 1;
            }
            else
            {
                // M4: 3+ bytes, 16385-49151 back, the distance's high bit in bit 3 of the instruction; 16384 ends the block.
                length = (t & 7) == 0 ? 2 + 7 + ExtendedLength(source, ref ip) : (t & 7) + 2;
                distance = ((t & 8) << 11) + LittleEndianDistance(source, ref ip);
                if (distance == 0)
                {
                    break;
                }

                distance += 0x4000;
            }

            CopyMatch(destination, ref op, distance, length);
            state = source[ip - 2] & 3;
            CopyLiterals(source, ref ip, destination, ref op, state);
        }

        if (op != destination.Length)
        {
            throw new InvalidDataException($"an LZO1X block decoded to {op} bytes where its header says {destination.Length}");
        }

        if (ip != source.Length)
        {
            throw new InvalidDataException($"an LZO1X block has {source.Length - ip} bytes after its end marker");
        }
    }

    private static int Byte(ReadOnlySpan<byte> source, ref int ip) =>
        ip < source.Length ? source[ip++] : throw new InvalidDataException("an LZO1X block ends in the middle of an instruction");

    /// <summary>A length extended by zero bytes (255 each) and a final non-zero byte.</summary>
    private static int ExtendedLength(ReadOnlySpan<byte> source, ref int ip)
    {
        var length = 0;
        int b;
        while ((b = Byte(source, ref ip)) == 0)
        {
            length += 255;
            if (length > 1 << 27)
            {
                throw new InvalidDataException("an LZO1X block holds an impossibly long run");
            }
        }

        return length + b;
    }

    private static int LittleEndianDistance(ReadOnlySpan<byte> source, ref int ip)
    {
        var low = Byte(source, ref ip);
        var high = Byte(source, ref ip);
        return (low >> 2) + (high << 6);
    }

    private static void CopyLiterals(ReadOnlySpan<byte> source, ref int ip, Span<byte> destination, ref int op, int count)
    {
        if (count > source.Length - ip || count > destination.Length - op)
        {
            throw new InvalidDataException(count > source.Length - ip
                ? "an LZO1X block ends in the middle of a literal run"
                : "an LZO1X block decodes to more bytes than its header says");
        }

        source.Slice(ip, count).CopyTo(destination[op..]);
        ip += count;
        op += count;
    }

    private static void CopyMatch(Span<byte> destination, ref int op, int distance, int length)
    {
        if (distance > op)
        {
            throw new InvalidDataException($"an LZO1X block refers {distance} bytes back from position {op}, before its start");
        }

        if (length > destination.Length - op)
        {
            throw new InvalidDataException("an LZO1X block decodes to more bytes than its header says");
        }

        var from = op - distance;
        if (distance >= length)
        {
            destination.Slice(from, length).CopyTo(destination[op..]);
        }
        else
        {
            // Overlapping: the match repeats what it is copying, byte by byte.
            for (var i = 0; i < length; i++)
            {
                destination[op + i] = destination[from + i];
            }
        }

        op += length;
    }
}
