using System.Buffers.Binary;
using System.Globalization;

namespace PgArchive.Support;

/// <summary>Segment files whose first page carries the long header PostgreSQL 15 writes, for the name they get.</summary>
public static class WalSegments
{
    public const int Size = 1 << 20; // the smallest segment size initdb allows keeps the tests light

    /// <summary>A segment named <paramref name="name"/>: a valid long header, then <paramref name="body"/> bytes repeated or generated.</summary>
    public static byte[] Create(string name, Func<int, byte[]> body, uint? headerTimeline = null, int size = Size)
    {
        var data = body(size);
        var timeline = uint.Parse(name.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var logId = ulong.Parse(name.AsSpan(8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var segment = ulong.Parse(name.AsSpan(16, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var header = data.AsSpan(0, 40);
        header.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(header, 0xD110); // XLOG_PAGE_MAGIC of PostgreSQL 15
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], 0x0002); // XLP_LONG_HEADER
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], headerTimeline ?? timeline);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], (logId << 32) + (segment * (ulong)size));
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], 7_300_000_000_000_000_000);
        BinaryPrimitives.WriteUInt32LittleEndian(header[32..], (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(header[36..], 8192);
        return data;
    }

    public static byte[] Filled(string name, byte fill) => Create(name, size =>
    {
        var data = new byte[size];
        Array.Fill(data, fill);
        return data;
    });
}
