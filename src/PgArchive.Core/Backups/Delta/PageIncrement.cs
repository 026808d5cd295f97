using System.Buffers.Binary;
using System.Text.RegularExpressions;

namespace PgArchive.Backups.Delta;

/// <summary>
/// WAL-G's page increment of a relation file: the 4 bytes <c>w i 1 0x55</c>, the file's size (uint64 LE), the
/// number of pages stored (uint32 LE), their block numbers (uint32 LE each), then the 8 KiB pages in that order.
/// </summary>
internal static partial class PageIncrement
{
    /// <summary>PostgreSQL's page size; WAL-G's increments assume it.</summary>
    public const int PageSize = 8192;

    /// <summary>The increment's magic header.</summary>
    public static ReadOnlySpan<byte> Signature => "wi1U"u8; // 'w' 'i' '1' 0x55

    /// <summary>Size of the fixed part: signature, file size, block count.</summary>
    public const int FixedHeaderSize = 4 + 8 + 4;

    private const int PageHeaderSize = 24;
    private const ushort ValidFlags = 7;
    private const ushort LayoutVersion = 4;

    /// <summary>Bytes of an increment holding <paramref name="blocks"/> pages.</summary>
    public static long SizeOf(int blocks) => FixedHeaderSize + (4L * blocks) + ((long)PageSize * blocks);

    /// <summary>
    /// True for the files WAL-G stores as increments: relation segments (<c>16384</c>, <c>16384.1</c>; not the
    /// <c>_fsm</c>/<c>_vm</c>/<c>_init</c> forks) under <c>base/</c> or <c>pg_tblspc/</c>, non-empty, whole pages.
    /// </summary>
    public static bool IsPagedFile(string tarPath, long size)
    {
        ArgumentNullException.ThrowIfNull(tarPath);
        if (size <= 0 || size % PageSize != 0)
        {
            return false;
        }

        if (!tarPath.StartsWith("base/", StringComparison.Ordinal) && !tarPath.StartsWith("pg_tblspc/", StringComparison.Ordinal))
        {
            return false;
        }

        var slash = tarPath.LastIndexOf('/');
        return PagedFileName().IsMatch(tarPath[(slash + 1)..]);
    }

    /// <summary>What a page's header says about it, for delta selection.</summary>
    public enum PageState
    {
        /// <summary>A valid page, last changed before the given LSN: not stored.</summary>
        Unchanged,

        /// <summary>A valid page changed at or after the LSN, or a new (never initialised) page: stored.</summary>
        Changed,

        /// <summary>An invalid header: the file cannot be stored as an increment and is stored whole.</summary>
        Invalid,
    }

    /// <summary>Classifies one page against the base backup's start LSN, as WAL-G does.</summary>
    public static PageState Classify(ReadOnlySpan<byte> page, ulong baseLsn)
    {
        if (page.Length != PageSize)
        {
            throw new ArgumentException("A page is 8192 bytes.", nameof(page));
        }

        var lsn = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(page) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(page[4..]);
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(page[10..]);
        var lower = BinaryPrimitives.ReadUInt16LittleEndian(page[12..]);
        var upper = BinaryPrimitives.ReadUInt16LittleEndian(page[14..]);
        var special = BinaryPrimitives.ReadUInt16LittleEndian(page[16..]);
        var pageSizeVersion = BinaryPrimitives.ReadUInt16LittleEndian(page[18..]);
        var valid = (flags & ValidFlags) == flags && lower >= PageHeaderSize && lower <= upper && upper <= special &&
            special <= PageSize && lsn != 0 && pageSizeVersion == PageSize + LayoutVersion;
        if (!valid)
        {
            // PageIsNew (pd_upper == 0): a page extended but not yet initialised; WAL-G keeps it in the increment.
            return upper == 0 ? PageState.Changed : PageState.Invalid;
        }

        return lsn >= baseLsn ? PageState.Changed : PageState.Unchanged;
    }

    /// <summary>Writes the header (signature, size, count, block numbers) into <paramref name="destination"/>.</summary>
    public static void WriteHeader(Span<byte> destination, ulong fileSize, IReadOnlyList<uint> blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        Signature.CopyTo(destination);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], fileSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], (uint)blocks.Count);
        for (var i = 0; i < blocks.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(FixedHeaderSize + (4 * i))..], blocks[i]);
        }
    }

    /// <summary>Reads and checks an increment's header, leaving <paramref name="source"/> at the first page.</summary>
    /// <exception cref="InvalidDataException">Not an increment, an unknown version, or a header that cannot be right.</exception>
    public static async Task<IncrementHeader> ReadHeaderAsync(Stream source, string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var fixedPart = new byte[FixedHeaderSize];
        await ReadExactlyAsync(source, fixedPart, path, cancellationToken).ConfigureAwait(false);
        if (fixedPart[0] != 'w' || fixedPart[1] != 'i' || fixedPart[3] != 0x55)
        {
            throw new InvalidDataException($"'{path}' is marked as a page increment but has no increment header.");
        }

        if (fixedPart[2] != '1')
        {
            throw new InvalidDataException($"'{path}' is a page increment of unknown version '{(char)fixedPart[2]}'.");
        }

        var fileSize = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart.AsSpan(4));
        var count = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart.AsSpan(12));
        // A relation segment is at most 1 GiB by default but can be built larger; the count can never exceed the pages of the file.
        if (fileSize > (ulong)uint.MaxValue * PageSize || count > (fileSize / PageSize) + 1)
        {
            throw new InvalidDataException($"'{path}': the page increment's header is inconsistent ({count} pages for a file of {fileSize} bytes).");
        }

        var map = new byte[4 * (int)count];
        await ReadExactlyAsync(source, map, path, cancellationToken).ConfigureAwait(false);
        var blocks = new uint[count];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = BinaryPrimitives.ReadUInt32LittleEndian(map.AsSpan(4 * i));
        }

        return new IncrementHeader((long)fileSize, blocks);
    }

    /// <summary>
    /// True when <paramref name="head"/>, the first <see cref="FixedHeaderSize"/> bytes of a tar member of
    /// <paramref name="length"/> bytes named <paramref name="key"/>, is an increment's header: a relation file's name
    /// (not under pg_xact, pg_clog or pg_multixact, whose pages hold raw bits), the signature <c>w i 1 0x55</c> and a
    /// page count that gives exactly <paramref name="length"/>. How a delta whose file list is lost (WAL-G before
    /// files_metadata.json, or a backup without it) is read: a relation page cannot start so (its first 4 bytes are the
    /// high half of its LSN, 0x55316977 here, some 6 EiB of WAL), and the length rules out chance.
    /// </summary>
    public static bool LooksLikeIncrement(string key, ReadOnlySpan<byte> head, long length)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.LastIndexOf('/');
        if (head.Length < FixedHeaderSize || !PagedFileName().IsMatch(key[(slash + 1)..]) ||
            key.Contains("/pg_xact/", StringComparison.Ordinal) || key.Contains("/pg_clog/", StringComparison.Ordinal) ||
            key.Contains("/pg_multixact/", StringComparison.Ordinal) || !head[..4].SequenceEqual(Signature))
        {
            return false;
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(head[12..]);
        return length == SizeOf((int)Math.Min(count, int.MaxValue));
    }

    private static async Task ReadExactlyAsync(Stream source, byte[] buffer, string path, CancellationToken cancellationToken)
    {
        try
        {
            await source.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"'{path}': the page increment is truncated.", ex);
        }
    }

    [GeneratedRegex(@"^\d+(\.\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex PagedFileName();
}

/// <summary>An increment's header.</summary>
/// <param name="FileSize">The file's size when it was backed up.</param>
/// <param name="Blocks">The block numbers of the pages that follow, in order.</param>
internal sealed record IncrementHeader(long FileSize, IReadOnlyList<uint> Blocks);
