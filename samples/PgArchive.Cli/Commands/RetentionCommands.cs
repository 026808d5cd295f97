using System.CommandLine;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using PgArchive.Backups;
using PgArchive.Cli.Configuration;
using PgArchive.Retention;

namespace PgArchive.Cli.Commands;

/// <summary><c>delete retain|before|everything|target|garbage|old-versions</c> (dry run unless <c>--confirm</c>) and <c>backup-mark</c>.</summary>
internal static class RetentionCommands
{
    public static Command Delete(GlobalOptions global)
    {
        var confirm = new Option<bool>("--confirm") { Description = "Delete. Without it, only print what would be deleted.", Recursive = true };
        var sentinelTime = new Option<bool>("--use-sentinel-time")
        {
            Description = "Order backups by the start time their sentinel records instead of by timeline and start segment.", Recursive = true,
        };
        var command = new Command("delete", "Delete old backups and the WAL no kept backup needs. Dry run unless --confirm.") { confirm, sentinelTime };

        var retainArgs = new Argument<string[]>("args") { Description = "[FULL|FIND_FULL] N", Arity = new ArgumentArity(1, 2) };
        var after = new Option<string?>("--after", "-a")
        {
            Description = "Also keep the backups after this one (a name or its beginning) or taken at or after this RFC 3339 time; with FULL or FIND_FULL from such a full backup (as WAL-G).",
        };
        var retain = new Command("retain", "Keep the newest N backups (FULL: N full backups and their deltas; FIND_FULL: back to the full backup the oldest needs).") { retainArgs, after };
        retain.SetAction((parseResult, ct) => Run(parseResult, global, confirm, sentinelTime,
            (_, _, _) => Task.FromResult(ParseRetain(parseResult.GetValue(retainArgs)!, parseResult.GetValue(after))), ct));

        var beforeArgs = new Argument<string[]>("args") { Description = "[FIND_FULL] backup_name|timestamp (RFC 3339)", Arity = new ArgumentArity(1, 2) };
        var before = new Command("before", "Delete the backups older than a backup, or than the first backup taken at or after a time.") { beforeArgs };
        before.SetAction((parseResult, ct) => Run(parseResult, global, confirm, sentinelTime, (_, _, _) => Task.FromResult(ParseBefore(parseResult.GetValue(beforeArgs)!)), ct));

        var everythingArgs = new Argument<string?>("FORCE") { Description = "FORCE: delete permanent backups too.", Arity = ArgumentArity.ZeroOrOne };
        var everything = new Command("everything", "Delete every backup and all WAL; FORCE deletes permanent backups too.") { everythingArgs };
        everything.SetAction((parseResult, ct) => Run(parseResult, global, confirm, sentinelTime, (_, _, _) => Task.FromResult(ParseEverything(parseResult.GetValue(everythingArgs))), ct));

        var targetArgs = new Argument<string[]>("args") { Description = "[FIND_FULL] backup_name|LATEST (none with --target-user-data)", Arity = new ArgumentArity(0, 2) };
        var targetUserData = new Option<string?>("--target-user-data") { Description = "Delete the one backup whose user data is this JSON, instead of naming it (as WAL-G)." };
        var target = new Command("target", "Delete one backup and the delta backups built on it (FIND_FULL: its whole delta chain).") { targetArgs, targetUserData };
        target.SetAction((parseResult, ct) => Run(parseResult, global, confirm, sentinelTime,
            (services, _, c) => ParseTargetAsync(parseResult.GetValue(targetArgs) ?? [], parseResult.GetValue(targetUserData), services.Get<BackupCatalog>(), c), ct));

        var garbageScope = new Argument<string?>("ARCHIVES|BACKUPS") { Description = "ARCHIVES: only WAL; BACKUPS: only leftovers of unfinished backups.", Arity = ArgumentArity.ZeroOrOne };
        var withoutBackupCheck = RefusedFlag.Create("--without-backup-check", null, null,
            "pgarchive's delete garbage leaves WAL alone while no impermanent backup exists, rather than delete it with no backup to keep it for; " +
            "use 'delete everything' to remove all WAL");
        var garbage = new Command("garbage", "Delete WAL no backup needs and leftovers of backups that never finished, older than the oldest backup.")
        {
            garbageScope, withoutBackupCheck.Option,
        };
        garbage.SetAction((parseResult, ct) => Run(parseResult, global, confirm, sentinelTime, (_, settings, _) =>
        {
            WalGFlags.CheckRefused(parseResult, "delete garbage", settings, [withoutBackupCheck]);
            return Task.FromResult(ParseGarbage(parseResult.GetValue(garbageScope)));
        }, ct));

        command.Subcommands.Add(retain);
        command.Subcommands.Add(before);
        command.Subcommands.Add(everything);
        command.Subcommands.Add(target);
        command.Subcommands.Add(garbage);

        var oldVersions = new Command("old-versions", "WAL-E's: delete what WAL-E versions before the current layout stored (basebackups_000/ to _004/, wal_000/ to _004/).");
        oldVersions.SetAction((parseResult, ct) => Run(parseResult, global, confirm, sentinelTime, (_, _, _) => Task.FromResult(RetentionRequest.OldVersions()), ct));
        command.Subcommands.Add(oldVersions);
        return command;
    }

    public static Command Mark(GlobalOptions global)
    {
        var name = new Argument<string>("backup_name") { Description = "The backup (or LATEST)." };
        var impermanent = new Option<bool>("--impermanent", "-i") { Description = "Make the backup impermanent again." };
        var command = new Command("backup-mark", "Mark a backup permanent (never deleted by retention), or impermanent with -i. Rewrites its metadata.json only.")
        {
            name, impermanent,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var permanent = !parseResult.GetValue(impermanent);
                var changed = await services.Get<BackupCatalog>().MarkAsync(parseResult.GetValue(name)!, permanent, ct).ConfigureAwait(false);
                var state = permanent ? "permanent" : "impermanent";
                await Console.Out.WriteLineAsync(changed.Count == 0
                    ? $"{parseResult.GetValue(name)} is already {state}."
                    : string.Join('\n', changed.Select(c => $"{c} marked {state}"))).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    private static Task<int> Run(ParseResult parseResult, GlobalOptions global, Option<bool> confirm, Option<bool> sentinelTime,
        Func<IServiceProvider, WalgSettings, CancellationToken, Task<RetentionRequest>> buildRequest, CancellationToken cancellationToken) =>
        CommandRunner.RunAsync(parseResult, global, LogLevel.Warning, async (services, settings, ct) =>
        {
            var request = await buildRequest(services, settings, ct).ConfigureAwait(false);
            if (parseResult.GetValue(sentinelTime))
            {
                request = request.UsingSentinelTime();
            }

            var planner = services.Get<RetentionPlanner>();
            var plan = await planner.PlanAsync(request, ct).ConfigureAwait(false);
            var confirmed = parseResult.GetValue(confirm);
            await Console.Out.WriteAsync(Describe(plan, confirmed)).ConfigureAwait(false);
            if (confirmed && plan.ObjectsToDelete.Count > 0)
            {
                var deleted = await planner.ExecuteAsync(plan, ct).ConfigureAwait(false);
                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Deleted {deleted} objects ({plan.BytesToDelete} bytes).")).ConfigureAwait(false);
            }
            else if (plan.ObjectsToDelete.Count > 0)
            {
                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"Dry run: {plan.ObjectsToDelete.Count} objects ({plan.BytesToDelete} bytes) would be deleted. Run with --confirm to delete them.")).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }, cancellationToken);

    private static string Describe(RetentionPlan plan, bool confirmed)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"delete {plan.Request}{(confirmed ? "" : " (dry run)")}\n");
        if (plan.Backups.Count > 0)
        {
            var width = plan.Backups.Max(b => b.Name.Length);
            text.Append("Backups, oldest first:\n");
            foreach (var backup in plan.Backups)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {(backup.Delete ? "delete" : "keep  ")} {backup.Name.PadRight(width)}  {backup.Reason}\n");
            }
        }

        foreach (var wal in plan.Wal)
        {
            text.Append(CultureInfo.InvariantCulture, $"WAL timeline {wal.Timeline}: {wal.KeptSegments} segments kept");
            if (wal.FirstKept is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $" ({wal.FirstKept} to {wal.LastKept})");
            }

            text.Append(CultureInfo.InvariantCulture, $", {wal.DeletedSegments} deleted\n");
        }

        foreach (var note in plan.Notes)
        {
            text.Append(note).Append('\n');
        }

        if (plan.ObjectsToDelete.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"Objects {(confirmed ? "to delete" : "that would be deleted")} ({plan.ObjectsToDelete.Count}):\n");
            foreach (var item in plan.ObjectsToDelete)
            {
                text.Append("  ").Append(item.Key).Append('\n');
            }
        }

        return text.ToString();
    }

    private static RetentionRequest ParseRetain(string[] args, string? after)
    {
        var (modifier, countText) = args.Length == 2 ? (args[0], args[1]) : (null, args[0]);
        var parsedModifier = modifier switch
        {
            null => RetainModifier.None,
            "FULL" => RetainModifier.Full,
            "FIND_FULL" => RetainModifier.FindFull,
            _ => throw new PgArchiveConfigurationException($"delete retain: '{modifier}' is not FULL or FIND_FULL (usage: delete retain [FULL|FIND_FULL] N)."),
        };
        if (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
        {
            throw new PgArchiveConfigurationException($"delete retain: '{countText}' is not a number of backups of 1 or more (usage: delete retain [FULL|FIND_FULL] N).");
        }

        // WAL-G's FindTargetRetainAfter: an RFC 3339 time, else the beginning of a backup name.
        return after switch
        {
            null or "" => RetentionRequest.Retain(count, parsedModifier),
            _ when WalGTimeJsonConverter.TryParse(after, out var time) => RetentionRequest.RetainAfter(count, parsedModifier, time),
            _ => RetentionRequest.RetainAfter(count, parsedModifier, after),
        };
    }

    private static RetentionRequest ParseBefore(string[] args)
    {
        var findFull = ParseFindFull(args, "before", "delete before [FIND_FULL] backup_name|timestamp");
        var value = args[^1];
        if (BackupName.IsValid(value))
        {
            return RetentionRequest.BeforeBackup(value, findFull);
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) && value.Contains('T', StringComparison.Ordinal))
        {
            return RetentionRequest.BeforeTimestamp(time, findFull);
        }

        throw new PgArchiveConfigurationException(
            $"delete before: '{value}' is neither a backup name (base_ and 24 hexadecimal digits) nor an RFC 3339 time such as 2026-11-25T02:00:00Z.");
    }

    private static RetentionRequest ParseEverything(string? modifier) => modifier switch
    {
        null => RetentionRequest.Everything(),
        "FORCE" => RetentionRequest.Everything(force: true),
        _ => throw new PgArchiveConfigurationException($"delete everything: '{modifier}' is not FORCE (usage: delete everything [FORCE])."),
    };

    private static RetentionRequest ParseGarbage(string? scope) => scope switch
    {
        null => RetentionRequest.Garbage(),
        "ARCHIVES" => RetentionRequest.Garbage(GarbageScope.Archives),
        "BACKUPS" => RetentionRequest.Garbage(GarbageScope.Backups),
        _ => throw new PgArchiveConfigurationException($"delete garbage: '{scope}' is not ARCHIVES or BACKUPS (usage: delete garbage [ARCHIVES|BACKUPS])."),
    };

    /// <summary>
    /// <c>delete target [FIND_FULL] NAME</c>, or <c>delete target [FIND_FULL] --target-user-data JSON</c>: the one backup
    /// holding that user data (WAL-G's CreateTargetDeleteBackupSelector; a name and user data together are refused).
    /// </summary>
    private static async Task<RetentionRequest> ParseTargetAsync(string[] args, string? userDataText, BackupCatalog catalog, CancellationToken cancellationToken)
    {
        const string Usage = "delete target [FIND_FULL] backup_name|LATEST, or delete target [FIND_FULL] --target-user-data JSON";
        var userData = WalGFlags.ParseUserData(userDataText, "--target-user-data");
        if (userData is null)
        {
            if (args.Length == 0)
            {
                throw new PgArchiveConfigurationException($"delete target: name the backup (usage: {Usage}).");
            }

            var findFull = ParseFindFull(args, "target", Usage);
            if (args[^1] == BackupName.Latest)
            {
                // as WAL-G's NewTargetBackupSelector: LATEST is the backup whose sentinel was stored last
                return RetentionRequest.Target((await catalog.ResolveAsync(BackupName.Latest, cancellationToken).ConfigureAwait(false)).Name, findFull);
            }

            return BackupName.IsValid(args[^1])
                ? RetentionRequest.Target(args[^1], findFull)
                : throw new PgArchiveConfigurationException($"delete target: '{args[^1]}' is not a backup name (base_ and 24 hexadecimal digits) nor LATEST.");
        }

        if (args.Length > 1 || (args.Length == 1 && args[0] != "FIND_FULL"))
        {
            throw new PgArchiveConfigurationException($"delete target: name the backup or give --target-user-data, not both (usage: {Usage}).");
        }

        var found = await catalog.FindByUserDataAsync(userData.Value, cancellationToken).ConfigureAwait(false)
            ?? throw new BackupNotFoundException($"No backup holds the user data --target-user-data gives ({userData.Value.GetRawText()}): nothing to delete.");
        return RetentionRequest.Target(found.Name, findFull: args.Length == 1);
    }

    private static bool ParseFindFull(string[] args, string mode, string usage) => args.Length switch
    {
        1 => false,
        _ when args[0] == "FIND_FULL" => true,
        _ => throw new PgArchiveConfigurationException($"delete {mode}: '{args[0]}' is not FIND_FULL (usage: {usage})."),
    };
}
