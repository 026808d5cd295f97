using System.Buffers.Binary;
using System.Globalization;

namespace PgArchive.Wal;

/// <summary>
/// The long header that opens every WAL segment (XLogLongPageHeaderData: magic, info, timeline, page address,
/// remaining length, system identifier, segment size, block size), and whether it belongs to a file name.
/// </summary>
internal readonly record struct WalLongPageHeader(ushort Magic, ushort Info, uint Timeline, ulong PageAddress, uint SegmentSize)
{
    /// <summary>Bytes of the header.</summary>
    public const int Size = 40;

    private const ushort LongHeaderFlag = 0x0002;

    /// <summary>Reads the header from the first <see cref="Size"/> bytes of a segment.</summary>
    public static WalLongPageHeader Read(ReadOnlySpan<byte> header) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(header),
        BinaryPrimitives.ReadUInt16LittleEndian(header[2..]),
        BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(header[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(header[32..]));

    /// <summary>
    /// Null when this header opens the segment named <paramref name="segmentName"/> (24 hex digits, or the first 24 of
    /// a <c>.partial</c> name); otherwise what is wrong. The first segment of a new timeline begins with the old
    /// timeline's pages, so an older timeline is accepted, a newer one is not.
    /// </summary>
    public string? Mismatch(string segmentName)
    {
        if ((Magic >> 8) is not (0xD0 or 0xD1) || (Info & LongHeaderFlag) == 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"it does not start with a WAL segment's long page header (magic {Magic:X4}, info {Info:X4})");
        }

        if (SegmentSize < (1u << 20) || SegmentSize > (1u << 30) || !uint.IsPow2(SegmentSize))
        {
            return string.Create(CultureInfo.InvariantCulture, $"its header gives an impossible segment size ({SegmentSize})");
        }

        var timeline = uint.Parse(segmentName.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var logId = ulong.Parse(segmentName.AsSpan(8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var segmentInLog = ulong.Parse(segmentName.AsSpan(16, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var start = (logId << 32) + (segmentInLog * SegmentSize);
        if (PageAddress != start)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"it holds the WAL at {PageAddress >> 32:X}/{(uint)PageAddress:X8}, not at {start >> 32:X}/{(uint)start:X8} (another segment's content)");
        }

        return Timeline == 0 || Timeline > timeline
            ? string.Create(CultureInfo.InvariantCulture, $"its first page belongs to timeline {Timeline}, after the name's {timeline}")
            : null;
    }
}
