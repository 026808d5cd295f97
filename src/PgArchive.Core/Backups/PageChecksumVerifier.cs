using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;
using PgArchive.Postgres;

namespace PgArchive.Backups;

/// <summary>
/// Checks the data-page checksums of relation files while backup-push streams them, as pg_basebackup does:
/// pages never initialised (<c>pd_upper</c> = 0) and pages whose LSN is at or past the backup's start (a
/// concurrent write may have torn them; WAL replay rewrites them) are skipped; a mismatch is read again from
/// disk once before it counts, so a page written while we read it is not reported.
/// </summary>
internal sealed partial class PageChecksumVerifier(ulong backupStartLsn, int blockSize, uint blocksPerSegment)
{
    /// <summary>Files that are never checksummed even where relation files live (pg_basebackup's list).</summary>
    private static readonly HashSet<string> NotChecksummed = new(StringComparer.Ordinal)
    {
        "pg_control", "pg_filenode.map", "pg_internal.init", "PG_VERSION", "config_exec_params",
    };

    /// <summary>Starts checking one file, or returns null when the file holds no checksummed pages.</summary>
    public FilePageCheck? Begin(string tarPath, string fullPath)
    {
        var match = RelationFile().Match(tarPath);
        if (!match.Success || NotChecksummed.Contains(Path.GetFileName(tarPath)))
        {
            return null;
        }

        var segment = match.Groups["segment"].Success
            ? uint.Parse(match.Groups["segment"].Value, CultureInfo.InvariantCulture)
            : 0u;
        return new FilePageCheck(fullPath, backupStartLsn, blockSize, segment * blocksPerSegment);
    }

    /// <summary>Relation files: global/N, base/DB/N, pg_tblspc/OID/PG_xx/DB/N, with a fork suffix and a segment number.</summary>
    [GeneratedRegex(@"^(global|base/\d+|pg_tblspc/\d+/[^/]+/\d+)/\d+(_(fsm|vm|init))?(\.(?<segment>\d+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex RelationFile();
}

/// <summary>The page check of one file, fed with its bytes in order as they stream into the tar.</summary>
internal sealed class FilePageCheck(string fullPath, ulong backupStartLsn, int blockSize, uint firstBlockNumber)
{
    private readonly byte[] _page = new byte[blockSize];
    private readonly List<uint> _corrupt = [];
    private int _filled;
    private uint _block;

    /// <summary>File-relative numbers of the blocks whose checksum is wrong, ascending (WAL-G records them so).</summary>
    public IReadOnlyList<uint> CorruptBlocks => _corrupt;

    /// <summary>Pages whose checksum was computed and compared.</summary>
    public long PagesVerified { get; private set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var take = Math.Min(data.Length, _page.Length - _filled);
            data[..take].CopyTo(_page.AsSpan(_filled));
            _filled += take;
            data = data[take..];
            if (_filled == _page.Length)
            {
                CheckPage();
                _filled = 0;
                _block++;
            }
        }
    }

    private void CheckPage()
    {
        if (Passes(_page))
        {
            return;
        }

        // Read the block again: PostgreSQL may have been writing it while we read it.
        var again = new byte[blockSize];
        if (!TryReread(again) || Passes(again))
        {
            return;
        }

        _corrupt.Add(_block);
    }

    private bool Passes(ReadOnlySpan<byte> page)
    {
        if (PageChecksum.IsNew(page) || PageChecksum.PageLsn(page) >= backupStartLsn)
        {
            return true;
        }

        PagesVerified++;
        return PageChecksum.Compute(page, firstBlockNumber + _block) == PageChecksum.Stored(page);
    }

    private bool TryReread(Span<byte> page)
    {
        try
        {
            using SafeFileHandle handle = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return RandomAccess.Read(handle, page, (long)_block * blockSize) == page.Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // gone or shrunk since: WAL replay deals with it
        }
    }
}
