using PgArchive.IO;
using PgArchive.PostgresTypes;
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
    private const int LongHeaderSize = WalLongPageHeader.Size;
    private readonly string _name;
    private readonly string _key;
    private readonly byte[] _header = new byte[LongHeaderSize];
    private long _read;
    private long _segmentSize;
    private bool _checkedEnd;

    private WalSegmentCheckStream(Stream inner, string name, string key)
        : base(inner)
    {
        _name = name;
        _key = key;
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
        var header = WalLongPageHeader.Read(_header);
        if (header.Mismatch(_name) is { } problem)
        {
            throw Invalid(problem);
        }

        _segmentSize = header.SegmentSize;
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
