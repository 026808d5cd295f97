using System.Buffers.Binary;
using System.Globalization;
using PgArchive.IO;
using PgArchive.Storage;

namespace PgArchive.Wal;

/// <summary>
/// Checks, as a fetched WAL segment streams by, that it is the segment it is named after: its first page has
/// a long header whose page address is the segment's start, whose timeline is not newer than the name's, whose
/// segment size is a valid one, and the content is exactly that many bytes. A segment swapped with another, cut
/// short or padded fails with <see cref="ObjectCorruptException"/> instead of reaching PostgreSQL.
/// </summary>
internal sealed class WalSegmentCheckStream : ReadOnlyWrapperStream
{
    private const int LongHeaderSize = 40;
    private const ushort LongHeaderFlag = 0x0002;
    private readonly string _name;
    private readonly string _key;
    private readonly uint _timeline;
    private readonly ulong _logId;
    private readonly ulong _segmentInLog;
    private readonly byte[] _header = new byte[LongHeaderSize];
    private long _read;
    private long _segmentSize;
    private bool _checkedEnd;

    private WalSegmentCheckStream(Stream inner, string name, string key)
        : base(inner)
    {
        _name = name;
        _key = key;
        _timeline = uint.Parse(name.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        _logId = ulong.Parse(name.AsSpan(8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        _segmentInLog = ulong.Parse(name.AsSpan(16, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Wraps <paramref name="decoded"/>, read from <paramref name="key"/>, when <paramref name="walFileName"/> names a
    /// segment (or a partial one); otherwise returns it.
    /// </summary>
    public static Stream WrapIfSegment(Stream decoded, string walFileName, string key) =>
        WalFileName.Classify(walFileName) is WalFileKind.Segment or WalFileKind.PartialSegment
            ? new WalSegmentCheckStream(decoded, walFileName, key)
            : decoded;

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            CheckEnd();
            return;
        }

        if (_read < LongHeaderSize)
        {
            var take = (int)Math.Min(LongHeaderSize - _read, bytes.Length);
            bytes[..take].CopyTo(_header.AsSpan((int)_read));
            if (_read + take == LongHeaderSize)
            {
                CheckHeader();
            }
        }

        _read += bytes.Length;
        if (_segmentSize > 0 && _read > _segmentSize)
        {
            throw Invalid($"it is longer than its {_segmentSize}-byte segment size");
        }
    }

    private void CheckHeader()
    {
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(_header);
        var info = BinaryPrimitives.ReadUInt16LittleEndian(_header.AsSpan(2));
        var timeline = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4));
        var pageAddress = BinaryPrimitives.ReadUInt64LittleEndian(_header.AsSpan(8));
        var segmentSize = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(32));
        if ((magic >> 8) is not (0xD0 or 0xD1) || (info & LongHeaderFlag) == 0)
        {
            throw Invalid($"it does not start with a WAL segment's long page header (magic {magic:X4}, info {info:X4})");
        }

        if (segmentSize < (1u << 20) || segmentSize > (1u << 30) || !uint.IsPow2(segmentSize))
        {
            throw Invalid($"its header gives an impossible segment size ({segmentSize})");
        }

        var start = (_logId << 32) + (_segmentInLog * segmentSize);
        if (pageAddress != start)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture,
                $"it holds the WAL at {pageAddress >> 32:X}/{(uint)pageAddress:X8}, not at {start >> 32:X}/{(uint)start:X8} (another segment's content)"));
        }

        // The first segment of a new timeline begins with the old timeline's pages: older is fine, newer is not.
        if (timeline == 0 || timeline > _timeline)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture, $"its first page belongs to timeline {timeline}, after the name's {_timeline}"));
        }

        _segmentSize = segmentSize;
    }

    private void CheckEnd()
    {
        if (_checkedEnd)
        {
            return;
        }

        _checkedEnd = true;
        if (_read < LongHeaderSize || _read != _segmentSize)
        {
            throw Invalid(_segmentSize > 0
                ? $"it ends after {_read} of its {_segmentSize} bytes (truncated)"
                : $"it ends after {_read} bytes, before a WAL page header");
        }
    }

    private ObjectCorruptException Invalid(string detail) => new(_key, $"it is not an intact WAL segment {_name}: {detail}");
}
