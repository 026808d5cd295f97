using System.Globalization;
using System.Text;
using PgArchive.Backups;
using PgArchive.Backups.WalE;
using PgArchive.PostgresTypes;

namespace PgArchive.Cli.Commands;

/// <summary>
/// <c>backup-list --wal-e</c>: the listing as WAL-E printed it (wal_e/operator/backup.py backup_list, storage/base.py
/// BackupInfo): Python's csv "excel-tab" dialect (tab-separated, CRLF line ends), a header, and its seven columns in its
/// order, the --detail ones empty without --detail. last_modified is UTC as S3 listings gave it to WAL-E
/// (2026-11-25T02:00:00.000Z); offsets are decimal, eight digits.
/// </summary>
internal static class WalEBackupList
{
    private static readonly string[] Columns =
    [
        "name", "last_modified", "expanded_size_bytes", "wal_segment_backup_start", "wal_segment_offset_backup_start",
        "wal_segment_backup_stop", "wal_segment_offset_backup_stop",
    ];

    public static async Task<string> RenderAsync(BackupCatalog catalog, bool detail, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        AppendRow(text, Columns);
        if (!detail)
        {
            foreach (var backup in await catalog.ListAsync(cancellationToken).ConfigureAwait(false))
            {
                var offset = WalEBackup.IsWalEName(backup.Name) ? backup.Name[30..] : "";
                AppendRow(text, [backup.Name, Time(backup.LastModified), "", backup.WalFileName, offset, "", ""]);
            }

            return text.ToString();
        }

        var details = (await catalog.ListDetailedAsync(cancellationToken).ConfigureAwait(false)).Backups; // the catalog warns of each it cannot read
        var segmentSize = BackupDetail.InferSegmentSize(details);
        foreach (var backup in details)
        {
            var size = WalEBackup.IsWalEName(backup.Name) ? WalEBackup.SegmentSize : segmentSize;
            var stop = WalSegment.Containing(backup.FinishLsn, backup.Timeline, size);
            AppendRow(text,
            [
                backup.Name, Time(backup.Info.LastModified), backup.Sentinel.UncompressedSize.ToString(CultureInfo.InvariantCulture),
                backup.Info.WalFileName, Offset(backup.StartLsn, size), stop.FileName, Offset(backup.FinishLsn, size),
            ]);
        }

        return text.ToString();
    }

    private static string Offset(Lsn lsn, long segmentSize) => (lsn.Value % (ulong)segmentSize).ToString("D8", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void AppendRow(StringBuilder text, IEnumerable<string> cells) => text.Append(string.Join('\t', cells)).Append("\r\n");
}
