using System.Globalization;

namespace PgArchive.Wal.Records;

/// <summary>
/// The WAL layout of one PostgreSQL major version, known by the magic every page header carries (XLOG_PAGE_MAGIC).
/// Versions 10 to 18 are understood; the differences that matter to block references are listed as properties (18 reads
/// as 17: its record, block reference, smgr, commit/abort and database records are laid out as 17's).
/// </summary>
internal sealed record WalFormat(int Major, ushort Magic)
{
    private static readonly WalFormat[] Known =
    [
        new(10, 0xD097), new(11, 0xD098), new(12, 0xD101), new(13, 0xD106),
        new(14, 0xD10D), new(15, 0xD110), new(16, 0xD113), new(17, 0xD116), new(18, 0xD118),
    ];

    /// <summary>The magics this parser accepts, as text for messages and the README.</summary>
    public static string Accepted => string.Join(", ", Known.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Magic:X4} ({k.Major})")));

    /// <summary>
    /// PostgreSQL 15 renumbered the image flags: before it, 0x02 meant "compressed" (pglz) and 0x04 "apply"; from 15,
    /// 0x02 is "apply" and 0x04/0x08/0x10 name the compression (pglz, lz4, zstd).
    /// </summary>
    public bool ImageFlagsOf15 => Major >= 15;

    /// <summary>XLOG_DBASE_DROP lists several tablespaces from 13 (one drop record per database); before, one per record.</summary>
    public bool DropDatabaseListsTablespaces => Major >= 13;

    /// <summary>15 split database creation into FILE_COPY (0x00) and WAL_LOG (0x10), and moved DROP from 0x10 to 0x20.</summary>
    public bool DatabaseCreateHasWalLog => Major >= 15;

    /// <summary>The format whose pages carry <paramref name="magic"/>, or null for a version this parser does not know.</summary>
    public static WalFormat? FromMagic(ushort magic) => Array.Find(Known, k => k.Magic == magic);
}
