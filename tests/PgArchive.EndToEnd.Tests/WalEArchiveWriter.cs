using System.Globalization;
using Npgsql;
using PgArchive.Support;

namespace PgArchive.EndToEnd;

/// <summary>What a WAL-E-shaped base backup recorded: its name, and the start and stop positions PostgreSQL returned.</summary>
/// <param name="Name">base_&lt;start segment&gt;_&lt;start offset&gt;.</param>
/// <param name="StartLsn">pg_backup_start's LSN, as text (0/2000028).</param>
/// <param name="StopLsn">pg_backup_stop's LSN, as text.</param>
/// <param name="StartSegment">The WAL file of the start LSN.</param>
public sealed record WalEBackupTaken(string Name, string StartLsn, string StopLsn, string StartSegment);

/// <summary>
/// Makes WAL-E-shaped archives of a real cluster with <c>Interop/wale_writer.py</c> (Python's tarfile, the real
/// <c>lzop</c> and <c>gpg</c>, WAL-E's layout and arguments). WAL-E took exclusive backups, so <c>backup_label</c>
/// was a file in PGDATA while it copied and landed in a tar partition; PostgreSQL 15 has only non-exclusive
/// backups, so here the files are copied into a staging directory between <c>pg_backup_start</c> and
/// <c>pg_backup_stop</c> (in one session), the label <c>pg_backup_stop</c> returns is written there as
/// <c>backup_label</c>, and the writer packs that directory as WAL-E packed PGDATA.
/// </summary>
public sealed class WalEArchiveWriter(string archiveDirectory, string? gpgHome = null, string? gpgKey = null)
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Interop", "wale_writer.py");

    public static Task InstallToolsAsync() => DebianPackages.EnsureInstalledAsync("python3", "lzop", "gnupg");

    /// <summary>Takes a base backup of <paramref name="cluster"/> as WAL-E stored it, with tar partitions of at most <paramref name="partitionBytes"/>.</summary>
    public async Task<WalEBackupTaken> BackupAsync(PostgresCluster cluster, string stagingDirectory, long partitionBytes)
    {
        await using var session = await cluster.ConnectAsync();
        // WAL-E's own query (psql_worker.run_start_backup), with PostgreSQL 15's function name.
        var (startSegment, startOffset, startLsn) = await QueryPositionAsync(session,
            "SELECT w.file_name, lpad(w.file_offset::text, 8, '0'), s.lsn::text FROM pg_backup_start('freeze_start_wale_test', true) AS s(lsn), " +
            "pg_walfile_name_offset(s.lsn) AS w");
        (await ExternalTool.RunAsync("cp", ["-a", cluster.DataDirectory, stagingDirectory])).EnsureSuccess("cp -a of the data directory");
        string label;
        string stopSegment, stopOffset, stopLsn;
        await using (var stop = new NpgsqlCommand(
            "SELECT s.labelfile, w.file_name, lpad(w.file_offset::text, 8, '0'), s.lsn::text FROM pg_backup_stop(true) AS s, pg_walfile_name_offset(s.lsn) AS w",
            session))
        await using (var reader = await stop.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            label = reader.GetString(0);
            (stopSegment, stopOffset, stopLsn) = (reader.GetString(1), reader.GetString(2), reader.GetString(3));
        }

        await File.WriteAllTextAsync(Path.Combine(stagingDirectory, "backup_label"), label);
        var version = await cluster.ScalarAsync<string>("SELECT version()");
        var output = (await RunAsync(["backup", archiveDirectory, stagingDirectory, startSegment, startOffset, stopSegment, stopOffset, version,
            "--partition-bytes", partitionBytes.ToString(CultureInfo.InvariantCulture)])).EnsureSuccess("wale_writer.py backup");
        ProcessRunner.GiveToOsUser(archiveDirectory);
        return new WalEBackupTaken(output.StdoutText.Trim(), startLsn, stopLsn, startSegment);
    }

    /// <summary>Stores every file PostgreSQL archived into <paramref name="stagedWal"/> as WAL-E's wal-push did: wal_005/&lt;name&gt;.lzo.</summary>
    public async Task PushWalAsync(string stagedWal)
    {
        foreach (var file in Directory.GetFiles(stagedWal).Order(StringComparer.Ordinal))
        {
            (await RunAsync(["wal", archiveDirectory, file])).EnsureSuccess("wale_writer.py wal " + Path.GetFileName(file));
        }

        ProcessRunner.GiveToOsUser(archiveDirectory);
    }

    private Task<ToolResult> RunAsync(string[] arguments)
    {
        var environment = new Dictionary<string, string>();
        if (gpgHome is not null)
        {
            environment["GNUPGHOME"] = gpgHome;
        }

        string[] gpg = gpgKey is null ? [] : ["--gpg-key", gpgKey];
        return ExternalTool.RunAsync("/usr/bin/python3", [Script, .. arguments, .. gpg], environment: environment, timeout: TimeSpan.FromMinutes(5));
    }

    private static async Task<(string Segment, string Offset, string Lsn)> QueryPositionAsync(NpgsqlConnection session, string sql)
    {
        await using var command = new NpgsqlCommand(sql, session);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetString(0), reader.GetString(1), reader.GetString(2));
    }
}
