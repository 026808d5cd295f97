namespace PgArchive.Backups;

public sealed class DataDirectoryScannerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-scan-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Touch(string relative, int size = 1)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, new byte[size]);
    }

    [Fact]
    public void Scan_leaves_out_what_PostgreSQL_documents_as_not_to_copy()
    {
        foreach (var file in new[]
        {
            "PG_VERSION", "postgresql.conf", "global/pg_control", "base/1/1259", "base/1/1259_fsm",
            "postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "recovery.signal", "standby.signal", RecoveryOptions.SettingsFileName,
            "recovery.conf", "recovery.done",
            "pg_wal/000000010000000000000001", "pg_wal/archive_status/000000010000000000000001.done",
            "pg_replslot/slot1/state", "pg_stat_tmp/global.stat", "pg_subtrans/0000", "pg_notify/0000",
            "base/1/pgsql_tmp/pgsql_tmp123.0", "base/1/pg_internal.init", "global/pg_internal.init",
            "base/1/t3_16400", "base/1/16500_init", "base/1/16500", "base/1/16500_fsm", "base/1/16500.1",
            "base/1/16501",
        })
        {
            Touch(file);
        }

        var paths = DataDirectoryScanner.Scan(_root).Select(e => e.TarPath + (e.IsDirectory ? "/" : "")).ToHashSet();

        Assert.Superset(new HashSet<string>
        {
            "PG_VERSION", "postgresql.conf", "global/pg_control", "base/1/1259", "base/1/1259_fsm", "base/1/16500_init", "base/1/16501",
            "pg_wal/", "pg_wal/archive_status/", "pg_replslot/", "pg_stat_tmp/", "pg_subtrans/", "pg_notify/",
        }, paths);
        foreach (var excluded in new[]
        {
            "postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "recovery.signal", "standby.signal", RecoveryOptions.SettingsFileName,
            "recovery.conf", "recovery.done",
            "pg_wal/000000010000000000000001", "pg_wal/archive_status/000000010000000000000001.done",
            "pg_replslot/slot1/state", "pg_replslot/slot1/", "pg_stat_tmp/global.stat", "pg_subtrans/0000",
            "base/1/pgsql_tmp/", "base/1/pg_internal.init", "global/pg_internal.init", "base/1/t3_16400",
            "base/1/16500", "base/1/16500_fsm", "base/1/16500.1",
        })
        {
            Assert.DoesNotContain(excluded, paths);
        }
    }

    [Fact]
    public void Scan_follows_tablespace_links_under_pg_tblspc()
    {
        var tablespace = Directory.CreateTempSubdirectory("pgarchive-ts-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(tablespace, "PG_15_202209061", "5"));
            File.WriteAllBytes(Path.Combine(tablespace, "PG_15_202209061", "5", "16400"), new byte[8192]);
            Directory.CreateDirectory(Path.Combine(_root, "pg_tblspc"));
            File.CreateSymbolicLink(Path.Combine(_root, "pg_tblspc", "16390"), tablespace);

            var entries = DataDirectoryScanner.Scan(_root).ToList();

            Assert.Contains(entries, e => e.TarPath == "pg_tblspc/16390/PG_15_202209061/5/16400" && e.Size == 8192);
            Assert.Equal(tablespace, DataDirectoryScanner.Tablespaces(_root)["16390"]);
        }
        finally
        {
            Directory.Delete(tablespace, recursive: true);
        }
    }
}
