using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PgArchive.Backups;
using PgArchive.Cli.Configuration;
using PgArchive.PostgresTypes;

namespace PgArchive.Cli.Commands;

/// <summary><c>backup-push</c>, <c>backup-fetch</c> and <c>backup-list</c>.</summary>
internal static class BackupCommands
{
    /// <summary>Information in logs, or warnings only while a terminal shows the progress display.</summary>
    private static LogLevel ProgressLogLevel => TerminalProgress.Enabled ? LogLevel.Warning : LogLevel.Information;

    public static Command Push(GlobalOptions global)
    {
        var dataDirectory = new Argument<string?>("pgdata") { Description = "The data directory of the running cluster (default: PGDATA).", Arity = ArgumentArity.ZeroOrOne };
        var permanent = new Option<bool>("--permanent", "-p") { Description = "Never delete this backup by retention." };
        var full = new Option<bool>("--full", "-f") { Description = "Take a full backup even when WALG_DELTA_MAX_STEPS allows a delta." };
        var deltaFromName = new Option<string?>("--delta-from-name") { Description = "Take a delta backup on this backup (also WALG_DELTA_FROM_NAME)." };
        var deltaFromUserData = new Option<string?>("--delta-from-user-data")
        {
            Description = "Take a delta backup on the one backup whose user data is this JSON (also WALG_DELTA_FROM_USER_DATA); a full backup when none has it, as WAL-G.",
        };
        var fallBack = new Option<bool>("--delta-fallback-full") { Description = "When the delta's base is from another cluster or timeline history, take a full backup instead of failing." };
        var userData = new Option<string?>("--add-user-data") { Description = "JSON stored with the backup (also WALG_SENTINEL_USER_DATA)." };
        var verify = new Option<bool>("--verify", "-v") { Description = "Verify data-page checksums (on by default when the cluster has them; WALG_VERIFY_PAGE_CHECKSUMS=false turns it off)." };
        var storeAllCorrupt = new Option<bool>("--store-all-corrupt", "-s")
        {
            Description = "Record every corrupt block number in files_metadata.json, not only the first ten (also WALG_STORE_ALL_CORRUPT_BLOCKS).",
        };
        var withoutFilesMetadata = new Option<bool>("--without-files-metadata")
        {
            Description = "Write no files_metadata.json (also WALG_WITHOUT_FILES_METADATA): a full backup whose sentinel says FilesMetadataDisabled; " +
                "restore and backup-verify then cannot check files against their recorded checksums.",
        };
        var resume = new Option<bool>("--resume")
        {
            Description = "Reuse the tar partitions of an interrupted backup-push of this cluster whose files have not changed since they were read " +
                "(same size and modification time, written at least 2 s before the read). Full backups only: a delta is taken fresh. " +
                "The interrupted backup is left for 'delete garbage' (also PGARCHIVE_BACKUP_RESUME=true).",
        };
        var targetStorage = WalGFlags.TargetStorage();
        RefusedFlag[] refused =
        [
            RefusedFlag.Create("--rating-composer", "-r", "WALG_USE_RATING_COMPOSER",
                "pgarchive packs files into tar partitions its own way (by size, WALG_TAR_SIZE_THRESHOLD), which WAL-G restores as well; leave the flag out"),
            RefusedFlag.Create("--copy-composer", "-c", "WALG_USE_COPY_COMPOSER",
                "pgarchive does not copy unchanged tar partitions from the previous backup; take delta backups (WALG_DELTA_MAX_STEPS), or --resume an interrupted backup-push"),
            RefusedFlag.Create("--database-composer", "-b", "WALG_USE_DATABASE_COMPOSER",
                "pgarchive does not group tar partitions by database (WAL-G's layout for backup-fetch --restore-only, which pgarchive does not support either); leave the flag out"),
        ];
        var command = new Command("backup-push", "Take an online base backup of the running cluster into the archive.")
        {
            dataDirectory, permanent, full, userData, verify, storeAllCorrupt, deltaFromName, deltaFromUserData, withoutFilesMetadata, fallBack, resume, targetStorage,
        };
        foreach (var flag in refused)
        {
            command.Options.Add(flag.Option);
        }

        var remote = new RemoteBackupOptions();
        remote.AddTo(command);

        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, ProgressLogLevel,
            async (services, settings, ct) =>
            {
                WalGFlags.CheckRefused(parseResult, "backup-push", settings, refused);
                WalGFlags.CheckTargetStorage(parseResult, targetStorage, settings);
                var isPermanent = parseResult.GetValue(permanent);
                var data = WalGFlags.ParseUserData(parseResult.GetValue(userData) ?? settings.Get("WALG_SENTINEL_USER_DATA"), "--add-user-data (WALG_SENTINEL_USER_DATA)");
                var deltaBaseName = parseResult.GetValue(deltaFromName) ?? settings.Get("WALG_DELTA_FROM_NAME");
                var deltaBaseUserData = WalGFlags.ParseUserData(parseResult.GetValue(deltaFromUserData) ?? settings.Get("WALG_DELTA_FROM_USER_DATA"),
                    "--delta-from-user-data (WALG_DELTA_FROM_USER_DATA)");
                if (remote.IsRemote(parseResult, [dataDirectory, verify, storeAllCorrupt, withoutFilesMetadata, fallBack, resume]))
                {
                    var remoteResult = await TerminalProgress.RunAsync("backup-push", progress =>
                        services.Get<BackupPusher>().PushRemoteAsync(remote.Request(parseResult, isPermanent, data, progress, parseResult.GetValue(full), deltaBaseName, deltaBaseUserData), ct)).ConfigureAwait(false);
                    await Console.Out.WriteLineAsync(remoteResult.BackupName).ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                var pgdata = parseResult.GetValue(dataDirectory) ?? settings.Get("PGDATA")
                    ?? throw new PgArchiveConfigurationException("Name the data directory: backup-push PGDATA, or set PGDATA.");
                bool? verifyPages = parseResult.GetValue(verify) ? true : null;
                bool? storeAll = parseResult.GetValue(storeAllCorrupt) ? true : null;
                var resumeInterrupted = parseResult.GetValue(resume) || settings.GetBoolean("PGARCHIVE_BACKUP_RESUME") == true;
                var noFilesMetadata = parseResult.GetValue(withoutFilesMetadata) || settings.GetBoolean("WALG_WITHOUT_FILES_METADATA") == true;
                var result = await TerminalProgress.RunAsync("backup-push", progress =>
                    services.Get<BackupPusher>().PushAsync(new BackupPushRequest
                    {
                        DataDirectory = pgdata, Permanent = isPermanent, UserData = data, Progress = progress, VerifyPageChecksums = verifyPages,
                        StoreAllCorruptBlocks = storeAll, Full = parseResult.GetValue(full), DeltaFromName = deltaBaseName, DeltaFromUserData = deltaBaseUserData,
                        WithoutFilesMetadata = noFilesMetadata, FallBackToFull = parseResult.GetValue(fallBack), Resume = resumeInterrupted,
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
        var name = new Argument<string?>("backup") { Description = "A backup name, or LATEST (or none with --target-user-data).", Arity = ArgumentArity.ZeroOrOne };
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
        var reverseUnpack = new Option<bool>("--reverse-unpack")
        {
            Description = "For a delta: unpack the newest backup of the chain first, writing each page once. The default (WAL-G's flag, accepted; also WALG_USE_REVERSE_UNPACK).",
        };
        var forwardUnpack = new Option<bool>("--forward-unpack")
        {
            Description = "For a delta: unpack the full backup first, then apply each delta in order (WAL-G's default; also WALG_USE_REVERSE_UNPACK=false).",
        };
        var tablespaceMap = new Option<string[]>("--tablespace-map") { Description = "OID=DIR: restore that tablespace into DIR instead of where it was. Repeatable.", AllowMultipleArgumentsPerToken = false };
        var restartInterrupted = new Option<bool>("--restart-interrupted")
        {
            Description = "When the destination (or a tablespace location) holds an interrupted restore (its PGARCHIVE_RESTORE_INCOMPLETE marker beside partial files), " +
                "delete what it holds and restore again. A directory without the marker is never deleted from.",
        };
        var command = new Command("backup-fetch", "Restore a backup into an empty directory, optionally set up for point-in-time recovery.")
        {
            target, name, time, lsn, restorePoint, action, timeline, recovery, standby, primaryConnInfo, tablespaceMap, reverseUnpack, forwardUnpack, restartInterrupted,
        };
        var walg = new WalGFetchFlags();
        walg.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, ProgressLogLevel,
            async (services, settings, ct) =>
            {
                walg.CheckSupported(parseResult, settings);
                if (parseResult.GetValue(reverseUnpack) && parseResult.GetValue(forwardUnpack))
                {
                    throw new PgArchiveConfigurationException("--reverse-unpack and --forward-unpack ask for opposite orders: give one of them.");
                }

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
                var catalog = services.Get<BackupCatalog>();
                var backupName = await walg.ResolveBackupAsync(parseResult, parseResult.GetValue(name), settings, catalog, ct).ConfigureAwait(false);
                var mapping = await walg.TablespaceMappingAsync(parseResult, backupName, destination, ParseTablespaceMap(parseResult.GetValue(tablespaceMap) ?? []), catalog, ct)
                    .ConfigureAwait(false);
                var result = await TerminalProgress.RunAsync("backup-fetch", progress =>
                    services.Get<BackupFetcher>().FetchAsync(new BackupFetchRequest
                    {
                        TargetDirectory = destination,
                        BackupName = backupName,
                        TablespaceMapping = mapping,
                        Recovery = recoveryOptions,
                        // written inside the restore, before its marker goes: a restore reported done has it, a failed one does not
                        AddedFiles = wantsRecovery ? [new AddedFile(RecoveryOptions.SettingsFileName, RestoreSettings(settings))] : [],
                        RestartInterrupted = parseResult.GetValue(restartInterrupted),
                        // Newest first unless asked otherwise: a flag wins over the setting, as in WAL-G.
                        ReverseUnpack = parseResult.GetValue(reverseUnpack)
                            || (!parseResult.GetValue(forwardUnpack) && settings.GetBoolean("WALG_USE_REVERSE_UNPACK") != false),
                        SkipRedundantTars = walg.SkipRedundantTars(parseResult, settings),
                        FileMask = walg.FileMask(parseResult),
                        Progress = progress,
                    }, ct)).ConfigureAwait(false);
                await Console.Out.WriteLineAsync(result.BackupName).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    public static Command List(GlobalOptions global)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON, as WAL-G does (indented with --pretty)." };
        var pretty = new Option<bool>("--pretty") { Description = "Print a boxed table with numbered rows, as WAL-G does." };
        var detail = new Option<bool>("--detail") { Description = "Add start and finish time and LSN, host, data directory, PostgreSQL version and the permanent flag (and in JSON every metadata.json field)." };
        var walE = new Option<bool>("--wal-e") { Description = "Print WAL-E's listing: tab-separated, its seven columns (the last ones with --detail)." };
        var targetStorage = WalGFlags.TargetStorage();
        var command = new Command("backup-list", "List the complete backups, oldest first.") { json, pretty, detail, walE, targetStorage };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, settings, ct) =>
            {
                WalGFlags.CheckTargetStorage(parseResult, targetStorage, settings);
                if (parseResult.GetValue(walE))
                {
                    await Console.Out.WriteAsync(await WalEBackupList.RenderAsync(services.Get<BackupCatalog>(), parseResult.GetValue(detail), ct).ConfigureAwait(false))
                        .ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                var asJson = parseResult.GetValue(json);
                var (text, empty) = await WalGBackupList.RenderAsync(services.Get<BackupCatalog>(), parseResult.GetValue(detail), parseResult.GetValue(pretty), asJson, ct)
                    .ConfigureAwait(false);
                if (empty && !asJson && !string.Equals(settings.Get("WALG_LOG_LEVEL"), "ERROR", StringComparison.OrdinalIgnoreCase))
                {
                    // WAL-G's FilterOutNoBackupFoundError (internal/backup_util.go): an info line, not an error, and none with --json
                    await Console.Error.WriteLineAsync(Listings.GoTime.LogLine("INFO: ", "No backups found")).ConfigureAwait(false);
                }

                await Console.Out.WriteAsync(text).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
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
