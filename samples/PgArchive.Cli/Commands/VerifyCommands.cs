using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PgArchive.Backups;
using PgArchive.Cli.Configuration;
using PgArchive.PostgresTypes;
using PgArchive.Verification;

namespace PgArchive.Cli.Commands;

/// <summary><c>wal-show</c>, <c>wal-verify</c> and <c>backup-verify</c>.</summary>
internal static class VerifyCommands
{
    public static Command WalShow(GlobalOptions global)
    {
        var detailed = new Option<bool>("--detailed-json") { Description = "Print detailed JSON: missing segments and the backups of each timeline." };
        var withoutBackups = new Option<bool>("--without-backups") { Description = "Do not look up the backups of each timeline." };
        var command = new Command("wal-show", "Show the timelines in the archive: segment ranges, gaps, parents and the backups that depend on each.")
        {
            detailed, withoutBackups,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var includeBackups = !parseResult.GetValue(withoutBackups);
                var timelines = await services.Get<WalTimelineReporter>().ReportAsync(includeBackups, ct).ConfigureAwait(false);
                if (parseResult.GetValue(detailed))
                {
                    await Console.Out.WriteLineAsync(JsonSerializer.Serialize(timelines.ToList(), VerificationJsonContext.Default.ListTimelineInfo)).ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                string[] headers = ["TLI", "PARENT TLI", "SWITCHPOINT LSN", "START SEGMENT", "END SEGMENT", "SEGMENT RANGE", "SEGMENTS COUNT", "STATUS"];
                var rows = timelines.Select(t => new[]
                {
                    Number(t.Id), Number(t.ParentId), new Lsn(t.SwitchPointLsn).ToString(), t.StartSegment, t.EndSegment,
                    Number(t.SegmentRangeSize), Number(t.SegmentsCount), t.Status,
                }.Concat(includeBackups ? [Number(t.Backups?.Count ?? 0)] : []).ToArray()).ToList();
                await Console.Out.WriteAsync(TextTable.Render(includeBackups ? [.. headers, "BACKUPS COUNT"] : headers, rows, pretty: true)).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    public static Command WalVerify(GlobalOptions global)
    {
        var checks = new Argument<string[]>("checks") { Description = "integrity, timeline, or both.", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var timelineFlag = new Option<uint?>("--timeline") { Description = "With --lsn: check against this timeline instead of asking the server (as WAL-G)." };
        var lsnFlag = new Option<string?>("--lsn") { Description = "With --timeline: check up to the segment before this LSN instead of the server's current one (as WAL-G)." };
        var backupName = new Option<string?>("--backup-name") { Description = "Check integrity from this backup's start instead of the oldest impermanent backup's (as WAL-G)." };
        var command = new Command("wal-verify",
            "Check the archived WAL: integrity (every segment from the oldest backup's start to the server's current one is there) and timeline (the archive's highest timeline is the server's). Exits 1 on FAILURE.")
        {
            checks, json, timelineFlag, lsnFlag, backupName,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, settings, ct) =>
            {
                var asked = parseResult.GetValue(checks) ?? [];
                if (asked.FirstOrDefault(c => c is not ("integrity" or "timeline")) is { } unknown)
                {
                    throw new PgArchiveConfigurationException($"wal-verify: '{unknown}' is not a check; the checks are integrity and timeline.");
                }

                var (delayed, uploading) = ArchiveSettingsMapper.WalVerifyWindows(settings);
                var report = await services.Get<WalVerifier>().VerifyAsync(new WalVerifyRequest
                {
                    Integrity = asked.Contains("integrity"),
                    Timeline = asked.Contains("timeline"),
                    DelayedWindow = delayed,
                    UploadingWindow = uploading,
                    Server = GivenPosition(parseResult.GetValue(timelineFlag), parseResult.GetValue(lsnFlag)),
                    BackupName = parseResult.GetValue(backupName),
                }, ct).ConfigureAwait(false);

                if (report.ServerError is { } serverError)
                {
                    await Console.Error.WriteLineAsync("pgarchive: warning: " + serverError).ConfigureAwait(false);
                }

                foreach (var note in report.Notes)
                {
                    await Console.Error.WriteLineAsync("pgarchive: " + note).ConfigureAwait(false);
                }

                await Console.Out.WriteAsync(parseResult.GetValue(json)
                    ? JsonSerializer.Serialize(report, VerificationJsonContext.Default.WalVerifyReport) + "\n"
                    : Plain(report)).ConfigureAwait(false);
                return report.HasFailure ? ExitCodes.Failure : ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    public static Command BackupVerify(GlobalOptions global)
    {
        var name = new Argument<string>("backup") { Description = "A backup name, or LATEST." };
        var command = new Command("backup-verify",
            "Read every tar partition of a backup through decryption and decompression and check every file against the checksum recorded at backup-push. Exits 1 on the first bad file.")
        {
            name,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var result = await services.Get<BackupVerifier>().VerifyAsync(parseResult.GetValue(name)!, ct).ConfigureAwait(false);
                foreach (var note in result.Notes)
                {
                    await Console.Error.WriteLineAsync("pgarchive: " + note).ConfigureAwait(false);
                }

                if (!result.IsValid)
                {
                    var more = result.Problems.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $" ({result.Problems.Count - 1} more problems)") : "";
                    await Console.Error.WriteLineAsync($"pgarchive: error: backup {result.BackupName} is damaged: {result.Problems[0]}{more}").ConfigureAwait(false);
                    return ExitCodes.Failure;
                }

                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{result.BackupName}: OK, {result.Partitions} tar partitions, {result.Files} files ({result.FilesChecksummed} checked against XXH128, {result.FilesWithoutChecksum} without a recorded checksum), {result.Bytes} bytes")).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }

    /// <summary>
    /// WAL-G's <c>--timeline</c> and <c>--lsn</c> (<c>cmd/pg/wal_verify.go</c>): both or neither; together they stand for
    /// the server's position (the segment size is then inferred from the backups), and the server is not asked.
    /// </summary>
    private static Postgres.ServerWalPosition? GivenPosition(uint? timeline, string? lsn)
    {
        if (timeline is null && lsn is null)
        {
            return null;
        }

        if (timeline is null || lsn is null)
        {
            throw new PgArchiveConfigurationException(timeline is null
                ? "wal-verify --lsn works only together with --timeline, as in WAL-G."
                : "wal-verify --timeline works only together with --lsn, as in WAL-G.");
        }

        if (timeline == 0)
        {
            throw new PgArchiveConfigurationException("wal-verify --timeline must be 1 or more.");
        }

        return Lsn.TryParse(lsn, out var position) && position.Value > 0
            ? new Postgres.ServerWalPosition(timeline.Value, position, 0, IsInRecovery: false)
            : throw new PgArchiveConfigurationException($"wal-verify --lsn '{lsn}' is not an LSN after 0/0 (e.g. 0/3000060).");
    }

    private static string Plain(WalVerifyReport report)
    {
        var text = new StringBuilder();
        if (report.Integrity is { } integrity)
        {
            text.Append(CultureInfo.InvariantCulture, $"[wal-verify] integrity check status: {Status(integrity.Status)}\n");
            text.Append("[wal-verify] integrity check details:\n");
            var rows = integrity.Details.Select(d => new[] { Number(d.TimelineId), d.StartSegment, d.EndSegment, Number(d.SegmentsCount), SegmentStatus(d.Status) }).ToList();
            text.Append(TextTable.Render(["TLI", "START", "END", "SEGMENTS COUNT", "STATUS"], rows, pretty: true));
        }

        if (report.Timeline is { } timeline)
        {
            text.Append(CultureInfo.InvariantCulture, $"[wal-verify] timeline check status: {Status(timeline.Status)}\n");
            text.Append("[wal-verify] timeline check details:\n");
            text.Append(CultureInfo.InvariantCulture, $"Highest timeline found in storage: {timeline.Details.HighestStorageTimelineId}\n");
            text.Append(CultureInfo.InvariantCulture, $"Current cluster timeline: {timeline.Details.CurrentTimelineId}\n");
        }

        return text.ToString();
    }

    private static string Status(WalCheckStatus status) => status switch
    {
        WalCheckStatus.Ok => "OK",
        WalCheckStatus.Warning => "WARNING",
        _ => "FAILURE",
    };

    private static string SegmentStatus(WalSegmentStatus status) => status switch
    {
        WalSegmentStatus.Found => "FOUND",
        WalSegmentStatus.MissingDelayed => "MISSING_DELAYED",
        WalSegmentStatus.MissingUploading => "MISSING_UPLOADING",
        _ => "MISSING_LOST",
    };

    private static string Number<T>(T value) where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);
}
