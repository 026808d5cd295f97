using System.Buffers.Binary;
using PgArchive.IO;

namespace PgArchive.Backups.Delta;

/// <summary>
/// An <c>INCREMENTAL.&lt;name&gt;</c> member of a PostgreSQL 17+ incremental base backup, re-framed as WAL-G's page
/// increment of <c>&lt;name&gt;</c> as it is read. PostgreSQL's format (basebackup_incremental.c; read back by
/// pg_combinebackup's reconstruct.c), in the server's byte order: the magic 0xd3ae1f0d, the number of blocks, the
/// truncation block length (the least length of the reconstructed file: blocks below it that are not sent come from the
/// prior backup), the block numbers relative to the segment, padding to a multiple of BLCKSZ when any block is sent,
/// then the blocks in that order. The reconstructed file is max(truncation length, highest block + 1) blocks long, as
/// pg_combinebackup computes it; that is the size the increment records. Memory: the header (4 bytes a block).
/// </summary>
internal static class PostgresIncrementalFile
{
    /// <summary>The prefix PostgreSQL gives an incrementally sent file's name.</summary>
    public const string Prefix = "INCREMENTAL.";

    private const uint Magic = 0xd3ae1f0d;

    /// <summary>The member's path without the <c>INCREMENTAL.</c> prefix of its file name, or null when it has none.</summary>
    public static string? PlainPath(string member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var slash = member.LastIndexOf('/');
        return string.CompareOrdinal(member, slash + 1, Prefix, 0, Prefix.Length) == 0 ? member[..(slash + 1)] + member[(slash + 1 + Prefix.Length)..] : null;
    }

    /// <summary>
    /// Reads the header of the incremental file in <paramref name="source"/> (<paramref name="length"/> bytes) and returns
    /// WAL-G's increment of the same pages, of known length, reading the pages from <paramref name="source"/> as it is read.
    /// </summary>
    /// <exception cref="PgArchiveException">The member is not an incremental file of 8 KiB blocks, or its length does not match its header.</exception>
    public static async Task<(Stream Increment, int Blocks)> ToIncrementAsync(Stream source, long length, string member, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var fixedPart = new byte[12];
        await ReadAsync(source, fixedPart, member, cancellationToken).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt32LittleEndian(fixedPart) != Magic)
        {
            throw Corrupt(member, "it does not start with PostgreSQL's incremental file magic 0xd3ae1f0d (a little-endian server with 8 KiB blocks is needed)");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart.AsSpan(4));
        var truncation = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart.AsSpan(8));
        var headerSize = 12L + (4L * count);
        if (count > 0 && headerSize % PageIncrement.PageSize != 0)
        {
            headerSize += PageIncrement.PageSize - (headerSize % PageIncrement.PageSize);
        }

        if (headerSize + ((long)count * PageIncrement.PageSize) != length)
        {
            throw Corrupt(member, $"its header announces {count} blocks of 8 KiB, which do not fill its {length} bytes");
        }

        var numbers = new byte[4 * count];
        await ReadAsync(source, numbers, member, cancellationToken).ConfigureAwait(false);
        var blocks = new uint[count];
        long reconstructed = truncation;
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = BinaryPrimitives.ReadUInt32LittleEndian(numbers.AsSpan(4 * i));
            reconstructed = Math.Max(reconstructed, blocks[i] + 1L);
        }

        var padding = new byte[headerSize - 12 - numbers.Length];
        await ReadAsync(source, padding, member, cancellationToken).ConfigureAwait(false);
        var header = new byte[PageIncrement.FixedHeaderSize + numbers.Length];
        PageIncrement.WriteHeader(header, (ulong)(reconstructed * PageIncrement.PageSize), blocks);
        return (new FixedLengthReadStream(new PrefixedReadStream(header, source), PageIncrement.SizeOf(blocks.Length)), blocks.Length);
    }

    /// <summary>
    /// The backup_label of the reconstructed backup: an incremental backup's label without its <c>INCREMENTAL FROM LSN</c>
    /// and <c>INCREMENTAL FROM TLI</c> lines, as pg_combinebackup writes it (PostgreSQL refuses to start on a label with them).
    /// </summary>
    public static string PlainBackupLabel(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        return string.Concat(label.Split('\n').Where(l => !l.StartsWith("INCREMENTAL FROM ", StringComparison.Ordinal)).Select((l, i) => i == 0 ? l : "\n" + l));
    }

    private static async Task ReadAsync(Stream source, byte[] buffer, string member, CancellationToken cancellationToken)
    {
        try
        {
            await source.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException ex)
        {
            throw Corrupt(member, "it ends inside its header", ex);
        }
    }

    private static PgArchiveException Corrupt(string member, string why, Exception? inner = null) =>
        new($"The server sent {member} as an incremental file, but {why}.", inner);
}
