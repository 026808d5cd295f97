using System.Globalization;

namespace PgArchive.Backups;

/// <summary>
/// What backup-fetch writes so that the restored cluster recovers from the archive on start:
/// <c>restore_command</c> and any target go to <c>postgresql.auto.conf</c>, and <c>recovery.signal</c> is created.
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
    public Wal.Lsn? TargetLsn { get; init; }

    /// <summary><c>recovery_target_name</c>, a restore point made with <c>pg_create_restore_point</c>.</summary>
    public string? TargetName { get; init; }

    /// <summary><c>recovery_target_action</c>: <c>pause</c>, <c>promote</c> or <c>shutdown</c>.</summary>
    public string? TargetAction { get; init; }

    /// <summary><c>recovery_target_timeline</c>: <c>latest</c> (PostgreSQL's default), <c>current</c> or a number.</summary>
    public string? TargetTimeline { get; init; }

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

    /// <summary>The settings, by name, as their values go into <c>postgresql.auto.conf</c> (before quoting).</summary>
    public IEnumerable<(string Name, string Value)> Settings()
    {
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

        if (TargetTimeline is not null)
        {
            yield return ("recovery_target_timeline", TargetTimeline);
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
