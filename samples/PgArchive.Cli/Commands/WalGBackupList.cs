using System.Globalization;
using PgArchive.Backups;
using PgArchive.Cli.Listings;

namespace PgArchive.Cli.Commands;

/// <summary>
/// <c>backup-list [--detail] [--pretty] [--json]</c> as WAL-G prints it, so scripts that read WAL-G's output read ours:
/// <list type="bullet">
/// <item>the rows: <c>internal/backup_time.go</c> (BackupTime: <c>backup_name</c>, <c>modified</c>, <c>wal_file_name</c>,
/// <c>storage_name</c>; JSON <c>backup_name</c>, <c>time</c>, <c>wal_file_name</c>, <c>storage_name</c>) and, with
/// <c>--detail</c>, <c>internal/databases/postgres/backup_detail.go</c> (start and finish time, hostname, data directory,
/// PostgreSQL version, start and finish LSN as <c>%X/%X</c>, permanent) with the JSON of
/// <c>backup_sentinel_dto.go</c> ExtendedMetadataDto (every metadata.json field, LSNs as numbers, <c>user_data</c> left
/// out when none). The storage is WAL-G's <c>default</c> (<c>internal/multistorage/object.go</c>): pgarchive has one.</item>
/// <item>the order: <c>internal/backup_util.go</c> SortBackupTimeSlices (by sentinel time, stable over the listing's
/// name order) and, with <c>--detail</c>, <c>internal/databases/postgres/backup_util.go</c> GetBackupsDetails and
/// SortBackupDetails (newest name first, then by start time, or by sentinel time when a backup has no start time).</item>
/// <item>the forms: <see cref="PrintList"/>.</item>
/// </list>
/// </summary>
internal static class WalGBackupList
{
    /// <summary>The listing's text for stdout, and whether there was no backup (WAL-G then says so on stderr unless --json).</summary>
    public static async Task<(string Text, bool Empty)> RenderAsync(BackupCatalog catalog, bool detail, bool pretty, bool json, CancellationToken cancellationToken)
    {
        IReadOnlyList<IListEntity> entities;
        if (detail)
        {
            var details = (await catalog.ListDetailedAsync(cancellationToken).ConfigureAwait(false)).Backups; // the catalog warns of each it cannot read
            entities = [.. SortDetails(details).Select(d => new DetailEntity(d))];
        }
        else
        {
            entities = [.. (await catalog.ListAsync(cancellationToken).ConfigureAwait(false)).Select(b => new TimeEntity(b))];
        }

        return (PrintList.Render(entities, pretty, json), entities.Count == 0);
    }

    /// <summary>
    /// SortBackupDetails: by start time, unless a backup has none (Go's zero time: metadata.json without it), then by
    /// sentinel time. WAL-G sorts the details it read newest name first (GetBackupsDetails walks the name-ordered
    /// listing backwards), so equal times keep that order (Go's SortFunc is an insertion sort for up to 12 elements).
    /// </summary>
    internal static IEnumerable<BackupDetail> SortDetails(IEnumerable<BackupDetail> details)
    {
        var newestNameFirst = details.OrderByDescending(d => d.Name, StringComparer.Ordinal).ToList();
        return newestNameFirst.Any(d => GoTime.IsZero(d.Metadata.StartTime))
            ? newestNameFirst.OrderBy(d => d.Info.LastModified)
            : newestNameFirst.OrderBy(d => d.Metadata.StartTime);
    }

    /// <summary>WAL-G's BackupTime.</summary>
    private class TimeEntity(BackupInfo info) : IListEntity
    {
        public virtual IReadOnlyList<TableField> PrintableFields() =>
        [
            new("backup_name", "Backup name", info.Name),
            new("modified", "Modified", GoTime.FormatTime(info.LastModified), GoTime.PrettyFormatTime(info.LastModified)),
            new("wal_file_name", "WAL file name", info.WalFileName),
            new("storage_name", "Storage name", StorageName),
        ];

        public void WriteJson(GoJsonWriter writer)
        {
            writer.StartObject();
            WriteFields(writer);
            writer.EndObject();
        }

        protected virtual void WriteFields(GoJsonWriter writer)
        {
            writer.Name("backup_name");
            writer.String(info.Name);
            writer.Name("time");
            writer.String(GoTime.Rfc3339Nano(info.LastModified));
            writer.Name("wal_file_name");
            writer.String(info.WalFileName);
            writer.Name("storage_name");
            writer.String(StorageName);
        }

        /// <summary>WAL-G's name of its primary storage, the only one pgarchive has.</summary>
        private const string StorageName = "default";
    }

    /// <summary>WAL-G's BackupDetail: BackupTime and ExtendedMetadataDto (metadata.json) embedded, in that order.</summary>
    private sealed class DetailEntity(BackupDetail detail) : TimeEntity(detail.Info)
    {
        public override IReadOnlyList<TableField> PrintableFields()
        {
            var metadata = detail.Metadata;
            return
            [
                .. base.PrintableFields(),
                new("start_time", "Start time", GoTime.FormatTime(metadata.StartTime), GoTime.PrettyFormatTime(metadata.StartTime)),
                new("finish_time", "Finish time", GoTime.FormatTime(metadata.FinishTime), GoTime.PrettyFormatTime(metadata.FinishTime)),
                new("hostname", "Hostname", metadata.Hostname),
                new("data_dir", "Datadir", metadata.DataDir),
                new("pg_version", "PG version", metadata.PgVersion.ToString(CultureInfo.InvariantCulture)),
                new("start_lsn", "Start LSN", new PostgresTypes.Lsn(metadata.StartLsn).ToString()),
                new("finish_lsn", "Finish LSN", new PostgresTypes.Lsn(metadata.FinishLsn).ToString()),
                new("is_permanent", "Permanent", metadata.IsPermanent ? "true" : "false"),
            ];
        }

        protected override void WriteFields(GoJsonWriter writer)
        {
            base.WriteFields(writer);
            var metadata = detail.Metadata;
            writer.Name("start_time");
            writer.String(GoTime.Rfc3339Nano(metadata.StartTime));
            writer.Name("finish_time");
            writer.String(GoTime.Rfc3339Nano(metadata.FinishTime));
            writer.Name("date_fmt");
            writer.String(metadata.DateFmt);
            writer.Name("hostname");
            writer.String(metadata.Hostname);
            writer.Name("data_dir");
            writer.String(metadata.DataDir);
            writer.Name("pg_version");
            writer.Number(metadata.PgVersion);
            writer.Name("start_lsn");
            writer.Number(metadata.StartLsn);
            writer.Name("finish_lsn");
            writer.Number(metadata.FinishLsn);
            writer.Name("is_permanent");
            writer.Boolean(metadata.IsPermanent);
            writer.Name("system_identifier");
            if (metadata.SystemIdentifier is { } systemIdentifier)
            {
                writer.Number(systemIdentifier);
            }
            else
            {
                writer.Null();
            }

            writer.Name("uncompressed_size");
            writer.Number(metadata.UncompressedSize);
            writer.Name("compressed_size");
            writer.Number(metadata.CompressedSize);
            if (metadata.UserData is { ValueKind: not System.Text.Json.JsonValueKind.Null } userData)
            {
                writer.Name("user_data"); // omitempty: an interface{} is empty only when nil (JSON null or absent)
                writer.Decoded(userData);
            }
        }
    }
}
