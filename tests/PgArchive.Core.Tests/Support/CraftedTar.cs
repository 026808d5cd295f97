using System.Globalization;
using System.Text;
using PgArchive.IO;

namespace PgArchive.Support;

/// <summary>
/// Tar streams written byte by byte, as someone crafting a hostile partition would: any header type and size, and
/// contents of any length made up on the fly (a 700 MB extended header costs the test no memory).
/// </summary>
internal static class CraftedTar
{
    /// <summary>A ustar header block: <paramref name="name"/>, type <paramref name="type"/>, an octal size, a valid checksum.</summary>
    public static byte[] Header(string name, char type, long size)
    {
        var block = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(block, 0);
        Encoding.ASCII.GetBytes("0000600\0").CopyTo(block, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(block, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(block, 116);
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(block, 124);
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(block, 136);
        block[156] = (byte)type;
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(block, 257);
        "        "u8.CopyTo(block.AsSpan(148));
        var sum = block.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(block, 148);
        return block;
    }

    /// <summary>Zeros up to the next 512-byte boundary after <paramref name="length"/> bytes of content.</summary>
    public static byte[] Padding(long length) => new byte[(512 - (int)(length % 512)) % 512];

    /// <summary>One PAX record, <c>"%d key=value\n"</c>, its length counting itself.</summary>
    public static byte[] PaxRecord(string key, string value)
    {
        var body = $" {key}={value}\n";
        var length = body.Length + 1;
        while ((length.ToString(CultureInfo.InvariantCulture) + body).Length != length)
        {
            length++;
        }

        return Encoding.UTF8.GetBytes(length.ToString(CultureInfo.InvariantCulture) + body);
    }

    /// <summary>
    /// A partition whose first entry is an extended header of type <paramref name="type"/> with <paramref name="size"/> bytes
    /// of content ('a's, as a PAX record for 'x' and 'g'), then a small file and the end of the archive.
    /// </summary>
    public static Stream WithExtendedHeader(char type, long size)
    {
        List<Segment> parts = [Header(type == 'x' || type == 'g' ? "PaxHeaders/x" : "././@LongLink", type, size)];
        if (type is 'x' or 'g')
        {
            var digits = size.ToString(CultureInfo.InvariantCulture);
            var prefix = Encoding.ASCII.GetBytes(digits + " comment=");
            parts.Add(prefix);
            parts.Add(new Segment((byte)'a', size - prefix.Length - 1));
            parts.Add("\n"u8.ToArray());
        }
        else
        {
            parts.Add(new Segment((byte)'a', size));
        }

        parts.Add(Padding(size));
        parts.AddRange(File("PG_VERSION", "15\n"u8.ToArray()));
        parts.Add(new byte[1024]);
        return new SegmentedStream(parts);
    }

    /// <summary>A file entry: header, content, padding.</summary>
    public static IEnumerable<Segment> File(string name, byte[] content) => [Header(name, '0', content.Length), content, Padding(content.Length)];

    /// <summary>A tar of the given segments followed by the end-of-archive blocks.</summary>
    public static Stream Of(params IEnumerable<Segment> parts) => new SegmentedStream([.. parts, new byte[1024]]);
}

/// <summary>Part of a crafted stream: bytes as given, or one byte repeated <c>Count</c> times without being stored.</summary>
internal readonly record struct Segment(byte[]? Bytes, byte Fill, long Count)
{
    public Segment(byte fill, long count) : this(null, fill, count) { }

    public long Length => Bytes?.LongLength ?? Count;

    public static implicit operator Segment(byte[] bytes) => new(bytes, 0, 0);
}

/// <summary>Reads <see cref="Segment"/>s one after the other.</summary>
internal sealed class SegmentedStream(IReadOnlyList<Segment> segments) : ReadOnlyStream
{
    private int _index;
    private long _offset;

    public override int Read(Span<byte> buffer)
    {
        while (_index < segments.Count && _offset == segments[_index].Length)
        {
            (_index, _offset) = (_index + 1, 0);
        }

        if (_index == segments.Count || buffer.IsEmpty)
        {
            return 0;
        }

        var segment = segments[_index];
        var n = (int)Math.Min(buffer.Length, segment.Length - _offset);
        if (segment.Bytes is { } bytes)
        {
            bytes.AsSpan((int)_offset, n).CopyTo(buffer);
        }
        else
        {
            buffer[..n].Fill(segment.Fill);
        }

        _offset += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));
}
