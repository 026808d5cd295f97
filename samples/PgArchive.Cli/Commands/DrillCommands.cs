using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PgArchive.Drill;

namespace PgArchive.Cli.Commands;

/// <summary><c>restore-drill</c>: proves a backup restores, recovers and passes amcheck.</summary>
internal static class DrillCommands
{
    public static Command RestoreDrill(GlobalOptions global)
    {
        var name = new Argument<string>("backup") { Description = "A backup name, or LATEST (default).", Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => "LATEST" };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var pgBin = new Option<string?>("--pg-bin") { Description = "PostgreSQL's bin directory (default: PGBIN, else pg_config --bindir)." };
        var command = new Command("restore-drill",
            "Restore a backup into a temporary directory, recover it to the end of the archive with PostgreSQL on a free loopback port, " +
            "check every btree index with amcheck and count every table's rows; report time-to-restore and the last replayed commit, then clean up.")
        {
            name, json, pgBin,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, settings, ct) =>
            {
                // The restored server's restore_command is this program's wal-fetch; the settings (credentials included)
                // reach it through the server's environment, never its command line.
                var backup = parseResult.GetValue(name) ?? "LATEST";
                if (backup != PgArchive.Backups.BackupName.Latest && !PgArchive.Backups.BackupName.IsValid(backup))
                {
                    throw new PgArchiveConfigurationException(
                        $"restore-drill: '{backup}' is neither LATEST nor a backup name (base_ and 24 hexadecimal digits).");
                }

                var environment = new Dictionary<string, string>(settings.ArchiveSettings(), StringComparer.Ordinal);
                var result = await services.Get<RestoreDrill>().RunAsync(new RestoreDrillRequest
                {
                    BackupName = backup,
                    RestoreCommand = $"{BackupCommands.SelfCommand()} wal-fetch \"%f\" \"%p\"",
                    Environment = environment,
                    PgBinDirectory = parseResult.GetValue(pgBin) ?? settings.Get("PGBIN"),
                }, ct).ConfigureAwait(false);
                if (parseResult.GetValue(json))
                {
                    await Console.Out.WriteLineAsync(ToJson(result)).ConfigureAwait(false);
                }
                else
                {
                    await Console.Out.WriteAsync(ToText(result)).ConfigureAwait(false);
                }

                foreach (var failure in result.Failures)
                {
                    await Console.Error.WriteLineAsync("pgarchive: restore-drill failed: " + failure.ReplaceLineEndings(" ")).ConfigureAwait(false);
                }

                return result.Succeeded ? ExitCodes.Success : ExitCodes.Failure;
            }, cancellationToken));
        return command;
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    private static string ToText(RestoreDrillResult result)
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"backup: {(result.BackupName.Length > 0 ? result.BackupName : "(not restored)")}\n");
        text.Append(CultureInfo.InvariantCulture, $"result: {(result.Succeeded ? "OK" : "FAILED")}\n");
        text.Append(CultureInfo.InvariantCulture, $"time to restore (RTO): {Seconds(result.TimeToRestore)} (fetch {Seconds(result.FetchTime)}, recovery {Seconds(result.RecoveryTime)})\n");
        text.Append(CultureInfo.InvariantCulture,
            $"last replayed commit (RPO): {result.LastReplayedTimestamp?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff'+00'", CultureInfo.InvariantCulture) ?? "none"} at LSN {result.LastReplayedLsn ?? "-"}\n");
        foreach (var db in result.Databases)
        {
            text.Append(CultureInfo.InvariantCulture, $"database {db.Database}: {db.Tables} tables, {db.Rows} rows, {db.IndexesChecked} btree indexes checked\n");
        }

        return text.ToString();
    }

    private static string ToJson(RestoreDrillResult result)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("backup_name", result.BackupName);
            writer.WriteBoolean("succeeded", result.Succeeded);
            writer.WriteNumber("fetch_seconds", Math.Round(result.FetchTime.TotalSeconds, 3));
            writer.WriteNumber("recovery_seconds", Math.Round(result.RecoveryTime.TotalSeconds, 3));
            writer.WriteNumber("time_to_restore_seconds", Math.Round(result.TimeToRestore.TotalSeconds, 3));
            if (result.LastReplayedTimestamp is { } at)
            {
                writer.WriteString("last_replayed_timestamp", at);
            }
            else
            {
                writer.WriteNull("last_replayed_timestamp");
            }

            writer.WriteString("last_replayed_lsn", result.LastReplayedLsn);
            writer.WriteStartArray("databases");
            foreach (var db in result.Databases)
            {
                writer.WriteStartObject();
                writer.WriteString("name", db.Database);
                writer.WriteNumber("tables", db.Tables);
                writer.WriteNumber("rows", db.Rows);
                writer.WriteNumber("btree_indexes_checked", db.IndexesChecked);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("failures");
            foreach (var failure in result.Failures)
            {
                writer.WriteStringValue(failure);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
