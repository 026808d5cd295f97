using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PgArchive.Backups;
using PgArchive.Cli.Configuration;
using PgArchive.Wal;

namespace PgArchive.Cli.Commands;

/// <summary><c>backup-push</c>, <c>backup-fetch</c> and <c>backup-list</c>.</summary>
internal static class BackupCommands
{
    /// <summary>Information in logs, or warnings only while a terminal shows the progress display.</summary>
    private static LogLevel ProgressLogLevel => TerminalProgress.Enabled ? LogLevel.Warning : LogLevel.Information;

    public static Command Push(GlobalOptions global)
    {
        var dataDirectory = new Argument<string?>("pgdata") { Description = "The data directory of the running cluster (default: PGDATA).", Arity = ArgumentArity.ZeroOrOne };
        var permanent = new Option<bool>("--permanent") { Description = "Never delete this backup by retention." };
        var full = new Option<bool>("--full", "-f") { Description = "Take a full backup even when WALG_DELTA_MAX_STEPS allows a delta." };
        var deltaFromName = new Option<string?>("--delta-from-name") { Description = "Take a delta backup on this backup." };
        var fallBack = new Option<bool>("--delta-fallback-full") { Description = "When the delta's base is from another cluster or timeline history, take a full backup instead of failing." };
        var userData = new Option<string?>("--add-user-data") { Description = "JSON stored with the backup (also WALG_SENTINEL_USER_DATA)." };
        var verify = new Option<bool>("--verify") { Description = "Verify data-page checksums (on by default when the cluster has them; WALG_VERIFY_PAGE_CHECKSUMS=false turns it off)." };
        var resume = new Option<bool>("--resume")
        {
            Description = "Reuse the tar partitions of an interrupted backup-push of this cluster whose files have not changed since they were read " +
                "(same size and modification time, written at least 2 s before the read). Full backups only: a delta is taken fresh. " +
                "The interrupted backup is left for 'delete garbage' (also PGARCHIVE_BACKUP_RESUME=true).",
        };
        var command = new Command("backup-push", "Take an online base backup of the running cluster into the archive.") { dataDirectory, permanent, full, userData, verify, deltaFromName, fallBack, resume };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, ProgressLogLevel,
            async (services, settings, ct) =>
            {
                var pgdata = parseResult.GetValue(dataDirectory) ?? settings.Get("PGDATA")
                    ?? throw new PgArchiveConfigurationException("Name the data directory: backup-push PGDATA, or set PGDATA.");
                var isPermanent = parseResult.GetValue(permanent);
                var data = ParseUserData(parseResult.GetValue(userData) ?? settings.Get("WALG_SENTINEL_USER_DATA"));
                bool? verifyPages = parseResult.GetValue(verify) ? true : null;
                var resumeInterrupted = parseResult.GetValue(resume) || settings.GetBoolean("PGARCHIVE_BACKUP_RESUME") == true;
                var result = await TerminalProgress.RunAsync("backup-push", progress =>
                    services.Get<BackupPusher>().PushAsync(new BackupPushRequest
                    {
                        DataDirectory = pgdata, Permanent = isPermanent, UserData = data, Progress = progress, VerifyPageChecksums = verifyPages,
                        Full = parseResult.GetValue(full), DeltaFromName = parseResult.GetValue(deltaFromName), FallBackToFull = parseResult.GetValue(fallBack),
                        Resume = resumeInterrupted,
                    }, ct)).ConfigureAwait(false);
                if (result.ResumedFrom is { } from)
                {
                    await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"pgarchive: resumed from {from}: {result.ReusedPartitions} of {result.Partitions} tar partitions reused ({result.ReusedBytes} of {result.CompressedBytes} bytes stored)"))
                        .ConfigureAwait(false);
                }

                foreach (var corrupt in result.CorruptFiles)
                {
                    await Console.Error.WriteLineAsync(
                        $"pgarchive: warning: page checksum verification failed in {corrupt.Path}, blocks {string.Join(", ", corrupt.Blocks)}").ConfigureAwait(false);
                }

                await Console.Out.WriteLineAsync(result.BackupName).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    public static Command Fetch(GlobalOptions global)
    {
        var target = new Argument<string>("destination") { Description = "An empty or new directory to restore into." };
        var name = new Argument<string>("backup") { Description = "A backup name, or LATEST." };
        var time = new Option<string?>("--recovery-target-time") { Description = "Recover up to this time, e.g. '2026-11-25 02:00:00+00'." };
        var lsn = new Option<string?>("--recovery-target-lsn") { Description = "Recover up to this LSN, e.g. 0/3000060." };
        var restorePoint = new Option<string?>("--recovery-target-name") { Description = "Recover up to this restore point (pg_create_restore_point)." };
        var action = new Option<string?>("--recovery-target-action") { Description = "At the target: pause (PostgreSQL's default), promote or shutdown." };
        var timeline = new Option<string?>("--recovery-target-timeline") { Description = "latest (default), current or a timeline number." };
        var recovery = new Option<bool>("--recovery") { Description = "Configure recovery from the archive (restore_command, recovery.signal) even without a target." };
        var standby = new Option<bool>("--standby")
        {
            Description = "Configure a standby that replays the archive without end, following the latest timeline, until promoted " +
                "(standby.signal; standby_mode = on before PostgreSQL 12). No recovery target goes with it.",
        };
        var primaryConnInfo = new Option<string?>("--primary-conninfo")
        {
            Description = "With --standby: stream from this primary once the archive is replayed, e.g. 'host=primary user=replicator' " +
                "(keep the password in a passfile; the value is written into the restored directory).",
        };
        var reverseUnpack = new Option<bool>("--reverse-unpack") { Description = "For a delta: unpack the newest backup of the chain first, writing each page once." };
        var tablespaceMap = new Option<string[]>("--tablespace-map") { Description = "OID=DIR: restore that tablespace into DIR instead of where it was. Repeatable.", AllowMultipleArgumentsPerToken = false };
        var restartInterrupted = new Option<bool>("--restart-interrupted")
        {
            Description = "When the destination (or a tablespace location) holds an interrupted restore (its PGARCHIVE_RESTORE_INCOMPLETE marker beside partial files), " +
                "delete what it holds and restore again. A directory without the marker is never deleted from.",
        };
        var command = new Command("backup-fetch", "Restore a backup into an empty directory, optionally set up for point-in-time recovery.")
        {
            target, name, time, lsn, restorePoint, action, timeline, recovery, standby, primaryConnInfo, tablespaceMap, reverseUnpack, restartInterrupted,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, ProgressLogLevel,
            async (services, settings, ct) =>
            {
                var destination = Path.GetFullPath(parseResult.GetValue(target)!);
                var targetLsn = parseResult.GetValue(lsn);
                if (targetLsn is not null && !Lsn.TryParse(targetLsn, out _))
                {
                    throw new PgArchiveConfigurationException($"--recovery-target-lsn '{targetLsn}' is not an LSN (e.g. 0/3000060).");
                }

                var wantsRecovery = parseResult.GetValue(recovery) || parseResult.GetValue(time) is not null || targetLsn is not null
                    || parseResult.GetValue(restorePoint) is not null || parseResult.GetValue(action) is not null || parseResult.GetValue(timeline) is not null
                    || parseResult.GetValue(standby) || parseResult.GetValue(primaryConnInfo) is not null;
                var recoveryOptions = wantsRecovery
                    ? new RecoveryOptions
                    {
                        RestoreCommand = RestoreCommandFor(destination),
                        TargetTime = parseResult.GetValue(time),
                        TargetLsn = targetLsn is null ? null : Lsn.Parse(targetLsn),
                        TargetName = parseResult.GetValue(restorePoint),
                        TargetAction = parseResult.GetValue(action),
                        TargetTimeline = parseResult.GetValue(timeline),
                        Standby = parseResult.GetValue(standby),
                        PrimaryConnInfo = parseResult.GetValue(primaryConnInfo),
                    }
                    : null;
                recoveryOptions?.Validate();
                var mapping = ParseTablespaceMap(parseResult.GetValue(tablespaceMap) ?? []);
                var result = await TerminalProgress.RunAsync("backup-fetch", progress =>
                    services.Get<BackupFetcher>().FetchAsync(new BackupFetchRequest
                    {
                        TargetDirectory = destination,
                        BackupName = parseResult.GetValue(name)!,
                        TablespaceMapping = mapping,
                        Recovery = recoveryOptions,
                        // written inside the restore, before its marker goes: a restore reported done has it, a failed one does not
                        AddedFiles = wantsRecovery ? [new AddedFile(RecoveryOptions.SettingsFileName, RestoreSettings(settings))] : [],
                        RestartInterrupted = parseResult.GetValue(restartInterrupted),
                        ReverseUnpack = parseResult.GetValue(reverseUnpack),
                        Progress = progress,
                    }, ct)).ConfigureAwait(false);
                await Console.Out.WriteLineAsync(result.BackupName).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    public static Command List(GlobalOptions global)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON for machines." };
        var pretty = new Option<bool>("--pretty") { Description = "Print a table." };
        var detail = new Option<bool>("--detail") { Description = "Add times, LSNs, host, data directory, PostgreSQL version, sizes, the permanent flag and user data." };
        var walE = new Option<bool>("--wal-e") { Description = "Print WAL-E's listing: tab-separated, its seven columns (the last ones with --detail)." };
        var command = new Command("backup-list", "List the complete backups, oldest first.") { json, pretty, detail, walE };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                if (parseResult.GetValue(walE))
                {
                    await Console.Out.WriteAsync(await WalEBackupList.RenderAsync(services.Get<BackupCatalog>(), parseResult.GetValue(detail), ct).ConfigureAwait(false))
                        .ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                if (parseResult.GetValue(detail))
                {
                    return await ListDetailedAsync(services.Get<BackupCatalog>(), parseResult.GetValue(json), parseResult.GetValue(pretty), ct).ConfigureAwait(false);
                }

                var backups = await services.Get<BackupCatalog>().ListAsync(ct).ConfigureAwait(false);
                if (parseResult.GetValue(json))
                {
                    var entries = backups.Select(b => new BackupListEntry { BackupName = b.Name, Time = b.LastModified, WalFileName = b.WalFileName }).ToList();
                    await Console.Out.WriteLineAsync(JsonSerializer.Serialize(entries, PgArchiveJsonContext.Default.ListBackupListEntry)).ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                if (backups.Count == 0)
                {
                    await Console.Error.WriteLineAsync("No backups found").ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                var rows = backups.Select(b => new[] { b.Name, b.LastModified.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), b.WalFileName }).ToList();
                await Console.Out.WriteAsync(TextTable.Render(["name", "modified", "wal_segment_backup_start"], rows, parseResult.GetValue(pretty))).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    private static async Task<int> ListDetailedAsync(BackupCatalog catalog, bool json, bool pretty, CancellationToken cancellationToken)
    {
        var backups = (await catalog.ListDetailedAsync(cancellationToken).ConfigureAwait(false)).Backups; // the catalog warns of each it cannot read
        if (json)
        {
            var entries = backups.Select(b => b.ToEntry()).ToList();
            await Console.Out.WriteLineAsync(JsonSerializer.Serialize(entries, PgArchiveJsonContext.Default.ListBackupDetailEntry)).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        if (backups.Count == 0)
        {
            await Console.Error.WriteLineAsync("No backups found").ConfigureAwait(false);
            return ExitCodes.Success;
        }

        static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var rows = backups.Select(b => new[]
        {
            b.Name, Time(b.Info.LastModified), b.Info.WalFileName, Time(b.Metadata.StartTime), Time(b.Metadata.FinishTime), b.Metadata.Hostname,
            b.Metadata.DataDir, b.Metadata.PgVersion.ToString(CultureInfo.InvariantCulture), new Lsn(b.Metadata.StartLsn).ToString(),
            new Lsn(b.Metadata.FinishLsn).ToString(), b.IsPermanent ? "true" : "false",
            b.Metadata.UncompressedSize.ToString(CultureInfo.InvariantCulture), b.Metadata.CompressedSize.ToString(CultureInfo.InvariantCulture),
            b.Metadata.UserData is { } data ? CompactJson(data) : "",
        }).ToList();
        string[] headers =
        [
            "name", "modified", "wal_segment_backup_start", "start_time", "finish_time", "hostname", "data_dir", "pg_version",
            "start_lsn", "finish_lsn", "is_permanent", "uncompressed_size", "compressed_size", "user_data",
        ];
        await Console.Out.WriteAsync(TextTable.Render(headers, rows, pretty)).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static string CompactJson(JsonElement element)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            element.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>This very program, as a shell command PostgreSQL can run (each path quoted for the shell and its '%' escaped).</summary>
    internal static string SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new PgArchiveException("Cannot tell this program's path to write restore_command.");
        var self = string.Equals(Path.GetFileNameWithoutExtension(process), "dotnet", StringComparison.Ordinal)
            ? $"{RecoveryOptions.QuoteCommandArgument(process)} {RecoveryOptions.QuoteCommandArgument(Path.Combine(AppContext.BaseDirectory, "pgarchive.dll"))}"
            : RecoveryOptions.QuoteCommandArgument(process);
        return self;
    }

    private static string RestoreCommandFor(string destination) =>
        $"{SelfCommand()} --config {RecoveryOptions.QuoteCommandArgument(Path.Combine(destination, RecoveryOptions.SettingsFileName))} wal-fetch \"%f\" \"%p\"";

    /// <summary>The archive settings in force, as the JSON object restore_command's --config reads (it may hold storage credentials).</summary>
    private static byte[] RestoreSettings(WalgSettings settings)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in settings.ArchiveSettings())
            {
                writer.WriteString(name, value);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static JsonElement? ParseUserData(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new PgArchiveConfigurationException($"--add-user-data (WALG_SENTINEL_USER_DATA) is not valid JSON: {ex.Message}", ex);
        }
    }

    private static Dictionary<string, string> ParseTablespaceMap(string[] mappings)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var mapping in mappings)
        {
            var eq = mapping.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == mapping.Length - 1 || !mapping[..eq].All(char.IsAsciiDigit))
            {
                throw new PgArchiveConfigurationException($"--tablespace-map '{mapping}' must be OID=DIRECTORY, e.g. 16390=/mnt/ts1.");
            }

            result[mapping[..eq]] = Path.GetFullPath(mapping[(eq + 1)..]);
        }

        return result;
    }
}
