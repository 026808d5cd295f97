using System.Globalization;

namespace PgArchive.Backups;

/// <summary>
/// What backup-fetch writes so that the restored cluster recovers from the archive on start: <c>restore_command</c> and
/// any target go to <c>postgresql.auto.conf</c> with <c>recovery.signal</c> (<c>standby.signal</c> for a standby) from
/// PostgreSQL 12 on, to <c>recovery.conf</c> before it.
/// </summary>
public sealed class RecoveryOptions
{
    /// <summary>
    /// <c>pgarchive.restore.json</c>: the file in the restored directory that the pgarchive CLI's restore_command reads
    /// the archive settings from. backup-push leaves it out of backups and backup-fetch never takes it from an archive.
    /// </summary>
    public const string SettingsFileName = "pgarchive.restore.json";

    /// <summary>The restore_command, e.g. <c>pgarchive wal-fetch "%f" "%p"</c>.</summary>
    public required string RestoreCommand { get; init; }

    /// <summary><c>recovery_target_time</c>, a timestamp PostgreSQL accepts (e.g. <c>2026-11-25 02:00:00+00</c>).</summary>
    public string? TargetTime { get; init; }

    /// <summary><c>recovery_target_lsn</c>.</summary>
    public PostgresTypes.Lsn? TargetLsn { get; init; }

    /// <summary><c>recovery_target_name</c>, a restore point made with <c>pg_create_restore_point</c>.</summary>
    public string? TargetName { get; init; }

    /// <summary><c>recovery_target_action</c>: <c>pause</c>, <c>promote</c> or <c>shutdown</c>.</summary>
    public string? TargetAction { get; init; }

    /// <summary>
    /// <c>recovery_target_timeline</c>: <c>latest</c>, <c>current</c> or a number. Unset, PostgreSQL 12 and later follow
    /// the latest timeline by default; before 12 (whose default is <c>current</c>) and for a standby, <c>latest</c> is written.
    /// </summary>
    public string? TargetTimeline { get; init; }

    /// <summary>
    /// A standby: it replays the archive without end (<c>standby.signal</c>, or <c>standby_mode = on</c> before
    /// PostgreSQL 12), following the latest timeline, until promoted. No recovery target goes with it.
    /// </summary>
    public bool Standby { get; init; }

    /// <summary>
    /// <c>primary_conninfo</c> of a <see cref="Standby"/>: it streams from that server once it has replayed what the
    /// archive holds (and returns to the archive when streaming breaks). Put a password in a passfile, not here: the
    /// value is written into the restored directory.
    /// </summary>
    public string? PrimaryConnInfo { get; init; }

    /// <summary>Validates the settings; the messages name the option at fault.</summary>
    public void Validate()
    {
        var targets = (TargetTime is null ? 0 : 1) + (TargetLsn is null ? 0 : 1) + (TargetName is null ? 0 : 1);
        if (targets > 1)
        {
            throw new PgArchiveConfigurationException("Give at most one of --recovery-target-time, --recovery-target-lsn and --recovery-target-name.");
        }

        if (TargetTime is not null && !IsTimestamp(TargetTime))
        {
            throw new PgArchiveConfigurationException(
                $"--recovery-target-time '{TargetTime}' is not a timestamp; use ISO 8601 with a time zone, e.g. '2026-11-25 02:00:00+00'.");
        }

        if (TargetAction is not null and not ("pause" or "promote" or "shutdown"))
        {
            throw new PgArchiveConfigurationException($"--recovery-target-action '{TargetAction}' must be pause, promote or shutdown.");
        }

        if (TargetTimeline is not null and not ("latest" or "current") && !uint.TryParse(TargetTimeline, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new PgArchiveConfigurationException($"--recovery-target-timeline '{TargetTimeline}' must be latest, current or a timeline number.");
        }

        if (Standby && (TargetTime ?? TargetLsn?.ToString() ?? TargetName ?? TargetAction) is not null)
        {
            var option = TargetTime is not null ? "--recovery-target-time" : TargetLsn is not null ? "--recovery-target-lsn"
                : TargetName is not null ? "--recovery-target-name" : "--recovery-target-action";
            throw new PgArchiveConfigurationException($"--standby cannot be combined with {option}: a standby replays the archive without end until it is promoted.");
        }

        if (PrimaryConnInfo is not null && !Standby)
        {
            throw new PgArchiveConfigurationException("--primary-conninfo needs --standby: only a standby streams from a primary.");
        }

        if (PrimaryConnInfo is { Length: 0 })
        {
            throw new PgArchiveConfigurationException("--primary-conninfo is empty: give a connection string, e.g. 'host=primary port=5432 user=replicator'.");
        }

        if (TargetName is { Length: 0 or > 63 })
        {
            throw new PgArchiveConfigurationException("--recovery-target-name must be 1 to 63 characters.");
        }

        foreach (var (name, value) in Settings())
        {
            if (value.AsSpan().IndexOfAny('\n', '\r', '\0') >= 0)
            {
                // postgresql.conf has no way to write these inside a value (ALTER SYSTEM refuses them too)
                throw new PgArchiveConfigurationException($"{name} holds a line break or NUL, which postgresql.auto.conf cannot hold.");
            }
        }
    }

    /// <summary>
    /// One argument of a restore_command, for <c>sh -c</c> after PostgreSQL has replaced its <c>%</c> escapes: quoted
    /// for the shell (single quotes, a quote inside written <c>'\''</c>) and each <c>%</c> written <c>%%</c>. Use it for
    /// every path put into <see cref="RestoreCommand"/>: any byte but NUL and a line break survives.
    /// </summary>
    public static string QuoteCommandArgument(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        return "'" + argument.Replace("'", @"'\''", StringComparison.Ordinal).Replace("%", "%%", StringComparison.Ordinal) + "'";
    }

    /// <summary>
    /// The settings, by name, as their values go into <c>postgresql.auto.conf</c> (PostgreSQL 12 and later) or
    /// <c>recovery.conf</c> (before), before quoting.
    /// </summary>
    /// <param name="pgVersionNum">The restored cluster's <c>server_version_num</c>; below 120000 the settings are recovery.conf's.</param>
    public IEnumerable<(string Name, string Value)> Settings(int pgVersionNum = Postgres.PostgresVersion.SignalFiles)
    {
        var recoveryConf = pgVersionNum < Postgres.PostgresVersion.SignalFiles;
        yield return ("restore_command", RestoreCommand);
        if (TargetTime is not null)
        {
            yield return ("recovery_target_time", TargetTime);
        }

        if (TargetLsn is { } lsn)
        {
            yield return ("recovery_target_lsn", lsn.ToString());
        }

        if (TargetName is not null)
        {
            yield return ("recovery_target_name", TargetName);
        }

        if (TargetAction is not null)
        {
            yield return ("recovery_target_action", TargetAction);
        }

        if ((TargetTimeline ?? (Standby || recoveryConf ? "latest" : null)) is { } timeline)
        {
            yield return ("recovery_target_timeline", timeline);
        }

        if (Standby && recoveryConf)
        {
            yield return ("standby_mode", "on");
        }

        if (PrimaryConnInfo is not null)
        {
            yield return ("primary_conninfo", PrimaryConnInfo);
        }
    }

    /// <summary>
    /// <c>name = 'value'</c> by postgresql.conf's string rules, as ALTER SYSTEM writes it: a single quote doubled, a
    /// backslash doubled (the file's reader takes a backslash as an escape).
    /// </summary>
    internal static string ConfigurationLine(string name, string value) =>
        $"{name} = '{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal)}'";

    private static bool IsTimestamp(string text)
    {
        var styles = DateTimeStyles.AllowWhiteSpaces | DateTimeStyles.AssumeUniversal;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, styles, out _))
        {
            return true;
        }

        // PostgreSQL prints offsets as +00; .NET wants +00:00
        var trimmed = text.Trim();
        return trimmed.Length > 3 && trimmed[^3] is '+' or '-' && char.IsAsciiDigit(trimmed[^1]) && char.IsAsciiDigit(trimmed[^2])
            && DateTimeOffset.TryParse(trimmed + ":00", CultureInfo.InvariantCulture, styles, out _);
    }
}
