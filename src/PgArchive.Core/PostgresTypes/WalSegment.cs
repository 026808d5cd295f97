using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace PgArchive.PostgresTypes;

/// <summary>
/// A WAL segment: a timeline and a segment number, named as PostgreSQL names its files
/// (<c>TTTTTTTTXXXXXXXXYYYYYYYY</c>, 24 hexadecimal digits).
/// </summary>
public readonly record struct WalSegment : IComparable<WalSegment>
{
    /// <summary>PostgreSQL's default segment size, 16 MiB.</summary>
    public const long DefaultSegmentSize = 16L * 1024 * 1024;

    /// <summary>Creates a segment.</summary>
    public WalSegment(uint timeline, ulong number, long segmentSize = DefaultSegmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfZero(timeline);
        ValidateSegmentSize(segmentSize);
        Timeline = timeline;
        Number = number;
        SegmentSize = segmentSize;
    }

    /// <summary>The timeline.</summary>
    public uint Timeline { get; }

    /// <summary>The segment number: the LSN of its first byte divided by the segment size.</summary>
    public ulong Number { get; }

    /// <summary>The segment size in bytes, a power of two from 1 MiB to 1 GiB.</summary>
    public long SegmentSize { get; }

    /// <summary>The file name, as <c>pg_walfile_name</c> prints it.</summary>
    public string FileName
    {
        get
        {
            var perId = SegmentsPerLogId(SegmentSize);
            return string.Create(CultureInfo.InvariantCulture, $"{Timeline:X8}{Number / perId:X8}{Number % perId:X8}");
        }
    }

    /// <summary>The LSN of the segment's first byte.</summary>
    public Lsn StartLsn => new(Number * (ulong)SegmentSize);

    /// <summary>The segment that holds <paramref name="lsn"/> on <paramref name="timeline"/>.</summary>
    public static WalSegment Containing(Lsn lsn, uint timeline, long segmentSize = DefaultSegmentSize)
    {
        ValidateSegmentSize(segmentSize);
        return new WalSegment(timeline, lsn.Value / (ulong)segmentSize, segmentSize);
    }

    /// <summary>The next segment on the same timeline.</summary>
    public WalSegment Next() => new(Timeline, Number + 1, SegmentSize);

    /// <summary>Parses a 24-digit segment file name.</summary>
    public static WalSegment Parse(string fileName, long segmentSize = DefaultSegmentSize) =>
        TryParse(fileName, out var segment, segmentSize) ? segment
            : throw new FormatException($"'{fileName}' is not a WAL segment name (24 hexadecimal digits, e.g. 000000010000000000000003).");

    /// <summary>Parses a 24-digit segment file name.</summary>
    public static bool TryParse([NotNullWhen(true)] string? fileName, out WalSegment segment, long segmentSize = DefaultSegmentSize)
    {
        segment = default;
        if (fileName is not { Length: 24 } || !IsUpperHex(fileName))
        {
            return false;
        }

        var timeline = uint.Parse(fileName.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var logId = ulong.Parse(fileName.AsSpan(8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var segId = ulong.Parse(fileName.AsSpan(16, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var perId = SegmentsPerLogId(segmentSize);
        if (timeline == 0 || segId >= perId)
        {
            return false;
        }

        segment = new WalSegment(timeline, logId * perId + segId, segmentSize);
        return true;
    }

    /// <inheritdoc />
    public int CompareTo(WalSegment other)
    {
        var byTimeline = Timeline.CompareTo(other.Timeline);
        return byTimeline != 0 ? byTimeline : Number.CompareTo(other.Number);
    }

    /// <summary>Compares two segments by timeline, then number.</summary>
    public static bool operator <(WalSegment left, WalSegment right) => left.CompareTo(right) < 0;

    /// <summary>Compares two segments by timeline, then number.</summary>
    public static bool operator >(WalSegment left, WalSegment right) => left.CompareTo(right) > 0;

    /// <summary>Compares two segments by timeline, then number.</summary>
    public static bool operator <=(WalSegment left, WalSegment right) => left.CompareTo(right) <= 0;

    /// <summary>Compares two segments by timeline, then number.</summary>
    public static bool operator >=(WalSegment left, WalSegment right) => left.CompareTo(right) >= 0;

    /// <inheritdoc />
    public override string ToString() => FileName;

    internal static bool IsUpperHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'A' and <= 'F')))
            {
                return false;
            }
        }

        return true;
    }

    private static ulong SegmentsPerLogId(long segmentSize) => 0x1_0000_0000UL / (ulong)segmentSize;

    private static void ValidateSegmentSize(long segmentSize)
    {
        if (segmentSize < 1 << 20 || segmentSize > 1 << 30 || (segmentSize & (segmentSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(segmentSize), segmentSize, "The WAL segment size must be a power of two from 1 MiB to 1 GiB.");
        }
    }
}
