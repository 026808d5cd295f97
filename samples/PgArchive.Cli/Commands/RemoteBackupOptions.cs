using System.CommandLine;
using PgArchive.Backups;

namespace PgArchive.Cli.Commands;

/// <summary><c>backup-push --remote [--max-rate RATE]</c>: a base backup through the replication protocol's BASE_BACKUP.</summary>
internal sealed class RemoteBackupOptions
{
    public Option<bool> Remote { get; } = new("--remote")
    {
        Description = "Back up the server the connection reaches (PGHOST, PGPORT, PGUSER, ...; a role with REPLICATION; PostgreSQL 15+) through the replication protocol, " +
            "without reading its data directory: no PGDATA needed. " +
            "On PostgreSQL 17+ with summarize_wal = on, incremental on an earlier --remote backup when WAL-G's delta settings (WALG_DELTA_MAX_STEPS, --delta-from-name) ask for a delta.",
    };

    public Option<string?> MaxRate { get; } = new("--max-rate")
    {
        Description = "With --remote: the most the server sends per second, as pg_basebackup's --max-rate: 32k to 1024M (kB without a unit).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Remote);
        command.Options.Add(MaxRate);
    }

    /// <summary>
    /// True with --remote; refuses what reads the data directory (<paramref name="localOnly"/>) beside it, and --max-rate without it.
    /// </summary>
    public bool IsRemote(ParseResult parseResult, IEnumerable<Symbol> localOnly)
    {
        if (!parseResult.GetValue(Remote))
        {
            return parseResult.GetValue(MaxRate) is null ? false : throw new PgArchiveConfigurationException("--max-rate applies to backup-push --remote only.");
        }

        foreach (var symbol in localOnly)
        {
            if (parseResult.GetResult(symbol) is System.CommandLine.Parsing.OptionResult { Implicit: false } or System.CommandLine.Parsing.ArgumentResult { Tokens.Count: > 0 })
            {
                var shown = symbol is Option option ? option.Name : "the data directory argument";
                throw new PgArchiveConfigurationException($"backup-push --remote reads no data directory: leave out {shown}.");
            }
        }

        return true;
    }

    /// <summary>The request for a remote backup: full, or incremental on the base WAL-G's delta rules (or the named one) choose.</summary>
    public RemoteBackupRequest Request(ParseResult parseResult, bool permanent, System.Text.Json.JsonElement? userData, IProgress<Diagnostics.TransferProgress>? progress,
        bool full, string? deltaFromName, System.Text.Json.JsonElement? deltaFromUserData) =>
        new()
        {
            Permanent = permanent, UserData = userData, Progress = progress, MaxRateKilobytesPerSecond = Rate(parseResult.GetValue(MaxRate)),
            Full = full, DeltaFromName = deltaFromName, DeltaFromUserData = deltaFromUserData,
        };

    private static int? Rate(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var trimmed = text.Trim();
        var (number, shift) = trimmed.EndsWith('M') || trimmed.EndsWith('m') ? (trimmed[..^1], 10)
            : trimmed.EndsWith('k') || trimmed.EndsWith('K') ? (trimmed[..^1], 0)
            : (trimmed, 0);
        return int.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && (long)value << shift is >= 32 and <= 1048576
            ? value << shift
            : throw new PgArchiveConfigurationException($"--max-rate '{text}' must be 32k to 1024M (kilobytes per second; a unit k or M).");
    }
}
