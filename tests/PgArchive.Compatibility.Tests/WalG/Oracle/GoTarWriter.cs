using System.Globalization;
using System.Text;

namespace PgArchive.Compatibility.WalG.Oracle;

/// <summary>A tar header as WAL-G fills Go's <c>tar.Header</c> (FileInfoHeader with the name replaced).</summary>
public sealed record GoTarHeader(string Name, char Typeflag, long Mode, long Size)
{
    public int Uid { get; init; }

    public int Gid { get; init; }

    public string Uname { get; init; } = "";

    public string Gname { get; init; } = "";

    /// <summary>Null for Go's zero time (WAL-G's backup_label and tablespace_map headers set none).</summary>
    public DateTimeOffset? ModTime { get; init; }
}

/// <summary>
/// Go's <c>archive/tar</c> Writer as WAL-G uses it (Format left unknown), written from Go's source
/// (<c>src/archive/tar/writer.go</c>, <c>common.go</c> allowedFormats, <c>format.go</c>, <c>strconv.go</c>):
/// the modification time is rounded to the second, then the first format that can encode the header is used, in the
/// order USTAR (a long name split into prefix and name), PAX (an extended header <c>dir/PaxHeaders.0/file</c> of
/// sorted records before the USTAR-magic header, whose fields that do not fit are left empty), GNU; numbers in octal,
/// the checksum as six octal digits, NUL and a space; data padded to 512 bytes; two zero blocks at the end.
/// </summary>
public sealed class GoTarWriter(Stream output)
{
    private const int BlockSize = 512;

    /// <summary>Writes a header and its content.</summary>
    public async Task WriteAsync(GoTarHeader header, byte[]? content = null)
    {
        content ??= [];
        if (content.Length != header.Size && header.Typeflag == '0')
        {
            throw new ArgumentException($"{header.Name}: {content.Length} bytes for a header of {header.Size}.", nameof(content));
        }

        var modTime = header.ModTime is { } t ? RoundToSecond(t).ToUnixTimeSeconds() : (long?)null;
        var pax = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var ustar = true;
        void CheckString(string value, int size, string paxKey, bool splittable)
        {
            if (!IsAscii(value) || value.Length > size)
            {
                if (!(splittable && SplitUstarPath(value) is not null))
                {
                    ustar = false;
                }

                pax[paxKey] = value;
            }
        }

        void CheckNumber(long value, int size, string? paxKey)
        {
            if (!FitsInOctal(size, value))
            {
                ustar = false;
                if (paxKey is null)
                {
                    throw new NotSupportedException("Neither USTAR nor PAX can encode this header; Go would write GNU.");
                }

                pax[paxKey] = value.ToString(CultureInfo.InvariantCulture);
            }
        }

        CheckString(header.Name, 100, "path", splittable: true);
        CheckString(header.Uname, 32, "uname", splittable: false);
        CheckString(header.Gname, 32, "gname", splittable: false);
        CheckNumber(header.Mode, 8, null);
        CheckNumber(header.Uid, 8, "uid");
        CheckNumber(header.Gid, 8, "gid");
        CheckNumber(header.Size, 12, "size");
        if (modTime is { } seconds && !FitsInOctal(12, seconds))
        {
            ustar = false;
            pax["mtime"] = seconds.ToString(CultureInfo.InvariantCulture);
        }

        if (ustar)
        {
            var (prefix, name) = SplitUstarPath(header.Name) ?? ("", header.Name);
            var block = Template(header with { Name = name }, modTime ?? 0);
            FormatString(block.AsSpan(345, 155), prefix);
            await WriteBlockAsync(SetUstarFormat(block));
        }
        else
        {
            var records = new StringBuilder();
            foreach (var (key, value) in pax)
            {
                records.Append(FormatPaxRecord(key, value));
            }

            var slash = header.Name.LastIndexOf('/');
            var extendedName = JoinPath(header.Name[..(slash + 1)], "PaxHeaders.0", header.Name[(slash + 1)..]);
            var data = Encoding.UTF8.GetBytes(records.ToString());
            var raw = new byte[BlockSize];
            var rawName = ToAscii(extendedName);
            FormatString(raw.AsSpan(0, 100), (rawName.Length > 100 ? rawName[..100] : rawName).TrimEnd('/'));
            FormatOctal(raw.AsSpan(100, 8), 0);
            FormatOctal(raw.AsSpan(108, 8), 0);
            FormatOctal(raw.AsSpan(116, 8), 0);
            FormatOctal(raw.AsSpan(124, 12), data.Length);
            FormatOctal(raw.AsSpan(136, 12), 0);
            raw[156] = (byte)'x';
            await WriteBlockAsync(SetUstarFormat(raw));
            await WritePaddedAsync(data);
            await WriteBlockAsync(SetUstarFormat(Template(header, modTime ?? 0)));
        }

        await WritePaddedAsync(header.Typeflag == '0' ? content : []);
    }

    /// <summary>Go's Close: two zero blocks.</summary>
    public async Task CloseAsync() => await output.WriteAsync(new byte[2 * BlockSize]);

    /// <summary>Go's time.Round(time.Second): halfway rounds up.</summary>
    public static DateTimeOffset RoundToSecond(DateTimeOffset value)
    {
        var ticks = value.UtcTicks % TimeSpan.TicksPerSecond;
        var whole = value.AddTicks(-ticks);
        return ticks >= TimeSpan.TicksPerSecond / 2 ? whole.AddSeconds(1) : whole;
    }

    /// <summary>templateV7Plus: the V7 fields and uname, gname, devmajor, devminor; fields that do not fit stay empty.</summary>
    private static byte[] Template(GoTarHeader header, long modTime)
    {
        var block = new byte[BlockSize];
        block[156] = (byte)header.Typeflag;
        FormatString(block.AsSpan(0, 100), ToAscii(header.Name));
        FormatString(block.AsSpan(157, 100), "");
        FormatOctal(block.AsSpan(100, 8), header.Mode);
        FormatOctal(block.AsSpan(108, 8), header.Uid);
        FormatOctal(block.AsSpan(116, 8), header.Gid);
        FormatOctal(block.AsSpan(124, 12), header.Size);
        FormatOctal(block.AsSpan(136, 12), modTime);
        FormatString(block.AsSpan(265, 32), ToAscii(header.Uname));
        FormatString(block.AsSpan(297, 32), ToAscii(header.Gname));
        FormatOctal(block.AsSpan(329, 8), 0);
        FormatOctal(block.AsSpan(337, 8), 0);
        return block;
    }

    /// <summary>setFormat(USTAR|PAX): magic "ustar\0", version "00", then the checksum.</summary>
    private static byte[] SetUstarFormat(byte[] block)
    {
        "ustar\0"u8.CopyTo(block.AsSpan(257));
        "00"u8.CopyTo(block.AsSpan(263));
        long checksum = 0;
        for (var i = 0; i < BlockSize; i++)
        {
            checksum += i is >= 148 and < 156 ? ' ' : block[i];
        }

        FormatOctal(block.AsSpan(148, 7), checksum);
        block[155] = (byte)' ';
        return block;
    }

    private static void FormatString(Span<byte> field, string value)
    {
        if (value.Length > field.Length)
        {
            return; // Go's formatter records ErrFieldTooLong and writes nothing; the PAX record carries the value
        }

        var ascii = Encoding.ASCII.GetBytes(ToAscii(value));
        ascii.CopyTo(field);
        if (ascii.Length < field.Length)
        {
            field[ascii.Length] = 0;
        }
    }

    private static void FormatOctal(Span<byte> field, long value)
    {
        var digits = Convert.ToString(value, 8);
        if (field.Length - digits.Length - 1 > 0)
        {
            digits = new string('0', field.Length - digits.Length - 1) + digits;
        }

        FormatString(field, digits);
    }

    private static bool FitsInOctal(int size, long value) => value >= 0 && (size >= 22 || value < 1L << ((size - 1) * 3));

    private static bool IsAscii(string value) => value.All(c => c is < (char)0x80 and not '\0');

    private static string ToAscii(string value) => IsAscii(value) ? value : new string([.. value.Where(c => c is < (char)0x80 and not '\0')]);

    /// <summary>Go's splitUSTARPath.</summary>
    private static (string Prefix, string Name)? SplitUstarPath(string name)
    {
        var length = name.Length;
        if (length <= 100 || !IsAscii(name))
        {
            return null;
        }

        if (length > 156)
        {
            length = 156;
        }
        else if (name[length - 1] == '/')
        {
            length--;
        }

        var i = name.LastIndexOf('/', length - 1);
        var suffixLength = name.Length - i - 1;
        if (i <= 0 || suffixLength > 100 || suffixLength == 0 || i > 155)
        {
            return null;
        }

        return (name[..i], name[(i + 1)..]);
    }

    /// <summary>Go's formatPAXRecord: "%d %s=%s\n", the length counting itself.</summary>
    private static string FormatPaxRecord(string key, string value)
    {
        var size = Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value) + 3;
        size += size.ToString(CultureInfo.InvariantCulture).Length;
        var record = $"{size} {key}={value}\n";
        if (Encoding.UTF8.GetByteCount(record) != size)
        {
            size = Encoding.UTF8.GetByteCount(record);
            record = $"{size} {key}={value}\n";
        }

        return record;
    }

    /// <summary>Go's path.Join of the three parts (cleaned, no empty parts).</summary>
    private static string JoinPath(string directory, string middle, string file)
    {
        var joined = string.Join('/', new[] { directory.TrimEnd('/'), middle, file }.Where(p => p.Length > 0));
        return directory.StartsWith('/') && !joined.StartsWith('/') ? "/" + joined : joined;
    }

    private async Task WriteBlockAsync(byte[] block) => await output.WriteAsync(block);

    private async Task WritePaddedAsync(byte[] data)
    {
        await output.WriteAsync(data);
        var padding = (BlockSize - (data.Length % BlockSize)) % BlockSize;
        await output.WriteAsync(new byte[padding]);
    }
}
