using System.Buffers.Binary;
using System.Globalization;
using PgArchive.IO;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// A pass-through stage under a <see cref="System.Formats.Tar.TarReader"/> that follows the tar's 512-byte framing as
/// the reader consumes it, and fails the read that brings a header announcing an extended header (PAX <c>x</c> or
/// <c>g</c>, GNU long name <c>L</c> or long link <c>K</c>) larger than <see cref="MaxExtendedHeaderBytes"/>: the tar
/// reader holds such a header whole in memory (a 700 MB one cost 2.4 GB), so it is refused before the reader reads it.
/// A PAX <c>size</c> record is followed as the reader follows it. Every byte passes through unchanged.
/// </summary>
internal sealed class TarHeaderGuardStream : ReadOnlyWrapperStream
{
    /// <summary>The largest extended header accepted: backup-push writes none over a few hundred bytes.</summary>
    public const int MaxExtendedHeaderBytes = 1 << 20;

    private const int BlockSize = 512;
    private readonly string _key;
    private readonly byte[] _header = new byte[BlockSize];
    private int _headerFilled;
    private long _position;
    private long _content;     // bytes of the current entry's content still to pass
    private long _padding;     // then the zeros up to the next block
    private MemoryStream? _pax; // the content of a PAX 'x' header, kept (it is small) to find a size record
    private long? _paxSize;    // that size, for the next entry
    private bool _ended;

    private TarHeaderGuardStream(Stream tar, string key)
        : base(tar, leaveOpen: true) => _key = key;

    /// <summary>The tar stream of the object <paramref name="key"/>, guarded; <paramref name="tar"/> is left open.</summary>
    public static Stream Wrap(Stream tar, string key) => new TarHeaderGuardStream(tar, key);

    protected override void Observe(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty && !_ended)
        {
            int taken;
            if (_content > 0)
            {
                taken = (int)Math.Min(bytes.Length, _content);
                _pax?.Write(bytes[..taken]);
                _content -= taken;
                if (_content == 0 && _pax is not null)
                {
                    _paxSize = SizeRecord(_pax.GetBuffer().AsSpan(0, (int)_pax.Length));
                    _pax = null;
                }
            }
            else if (_padding > 0)
            {
                taken = (int)Math.Min(bytes.Length, _padding);
                _padding -= taken;
            }
            else
            {
                taken = Math.Min(bytes.Length, BlockSize - _headerFilled);
                bytes[..taken].CopyTo(_header.AsSpan(_headerFilled));
                _headerFilled += taken;
                if (_headerFilled == BlockSize)
                {
                    _headerFilled = 0;
                    OnHeader(_position + taken - BlockSize);
                }
            }

            _position += taken;
            bytes = bytes[taken..];
        }
    }

    private void OnHeader(long offset)
    {
        if (!_header.AsSpan().ContainsAnyExcept((byte)0))
        {
            _ended = true; // the end-of-archive blocks: the reader stops here
            return;
        }

        var type = (char)_header[156];
        var size = Size(_header.AsSpan(124, 12), offset);
        var extended = type is 'x' or 'g' or 'L' or 'K';
        if (extended && size > MaxExtendedHeaderBytes)
        {
            throw new ObjectCorruptException(_key, string.Create(CultureInfo.InvariantCulture,
                $"the tar header at byte {offset} announces a {StoredJson.Describe(size)} {Kind(type)} ('{type}'), more than the " +
                $"{StoredJson.Describe(MaxExtendedHeaderBytes)} an extended header may hold; it was not read"));
        }

        if (!extended)
        {
            size = _paxSize ?? size;
            _paxSize = null;
        }

        _pax = type == 'x' ? new MemoryStream((int)size) : null;
        _content = size;
        _padding = (BlockSize - (size % BlockSize)) % BlockSize;
        if (_content == 0 && _pax is not null)
        {
            _pax = null;
        }
    }

    private static string Kind(char type) => type switch
    {
        'x' => "PAX extended header",
        'g' => "PAX global header",
        'L' => "GNU long name",
        _ => "GNU long link name",
    };

    /// <summary>A header's size field: octal digits (spaces and NULs around them), or base-256 when its first bit is set.</summary>
    private long Size(ReadOnlySpan<byte> field, long offset)
    {
        if ((field[0] & 0x80) != 0)
        {
            // Base-256: the rest is a big-endian number; anything beyond 63 bits is no size a reader accepts.
            var value = field[0] == 0x80 && !field[1..4].ContainsAnyExcept((byte)0) ? BinaryPrimitives.ReadUInt64BigEndian(field[4..]) : ulong.MaxValue;
            return value <= long.MaxValue ? (long)value : throw Unreadable(offset);
        }

        var digits = field.Trim(" \0"u8);
        long size = 0;
        foreach (var digit in digits)
        {
            if (digit is < (byte)'0' or > (byte)'7' || size > long.MaxValue >> 3)
            {
                throw Unreadable(offset);
            }

            size = (size << 3) + (digit - '0');
        }

        return size;
    }

    private InvalidDataException Unreadable(long offset) =>
        new(string.Create(CultureInfo.InvariantCulture, $"the tar header at byte {offset} of '{_key}' has a size field that is not a number"));

    /// <summary>The <c>size</c> record of PAX content (<c>"%d size=%d\n"</c> among others), or null.</summary>
    private static long? SizeRecord(ReadOnlySpan<byte> records)
    {
        long? size = null;
        while (!records.IsEmpty)
        {
            var space = records.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(records[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length <= space || length > records.Length)
            {
                return size; // malformed: the tar reader refuses it itself
            }

            var record = records[(space + 1)..length].TrimEnd((byte)'\n');
            if (record.StartsWith("size="u8) && long.TryParse(record[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                size = value;
            }

            records = records[length..];
        }

        return size;
    }
}
