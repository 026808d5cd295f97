using System.CommandLine;
using System.Text.Json;
using PgArchive.Cli.Configuration;

namespace PgArchive.Cli.Commands;

/// <summary>
/// Flags of WAL-G's commands (its <c>cmd/pg/*.go</c>) that pgarchive takes with the same spelling: those it refuses are
/// declared too, so that a WAL-G command line fails with one line naming the flag and why, never as an unknown option
/// and never silently ignored.
/// </summary>
internal static class WalGFlags
{
    /// <summary>WAL-G's name of its primary storage, the only one pgarchive has.</summary>
    public const string DefaultStorage = "default";

    /// <summary><c>--target-storage</c> (backup-push, backup-fetch, backup-list, wal-push, wal-fetch).</summary>
    public static Option<string?> TargetStorage() => new("--target-storage")
    {
        Description = "WAL-G's storage to use: only 'default' (also WALG_TARGET_STORAGE), which is the primary with its failover storages (WALG_FAILOVER_STORAGES) together.",
    };

    /// <summary>Refuses a <c>--target-storage</c> (or <c>WALG_TARGET_STORAGE</c>) other than WAL-G's <c>default</c>: pgarchive uses the primary and its failover storages together.</summary>
    public static void CheckTargetStorage(ParseResult parseResult, Option<string?> option, WalgSettings settings)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        ArgumentNullException.ThrowIfNull(settings);
        var (value, source) = parseResult.GetValue(option) is { Length: > 0 } flag ? (flag, "--target-storage") : (settings.Get("WALG_TARGET_STORAGE"), "WALG_TARGET_STORAGE");
        if (value is not null && value != DefaultStorage)
        {
            throw new PgArchiveConfigurationException(
                $"{source} '{value}' is not supported: pgarchive uses WAL-G's '{DefaultStorage}' storage and its failover storages (WALG_FAILOVER_STORAGES) together, never one alone; leave it out or use '{DefaultStorage}'.");
        }
    }

    /// <summary>
    /// Fails when a refused flag was given, or its WAL-G setting is true: <c>COMMAND FLAG is not supported: REASON</c>
    /// (a configuration error, exit 2).
    /// </summary>
    public static void CheckRefused(ParseResult parseResult, string command, WalgSettings settings, IEnumerable<RefusedFlag> refused)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(refused);
        foreach (var flag in refused)
        {
            if (parseResult.GetValue(flag.Option))
            {
                throw new PgArchiveConfigurationException($"{command} {flag.Option.Name} is not supported: {flag.Reason}.");
            }

            if (flag.Setting is not null && settings.GetBoolean(flag.Setting) == true)
            {
                throw new PgArchiveConfigurationException($"{flag.Setting}=true ({command} {flag.Option.Name}) is not supported: {flag.Reason}.");
            }
        }
    }

    /// <summary>User data given on the command line or in a setting, as WAL-G's UnmarshalSentinelUserData reads it: JSON, or nothing when empty.</summary>
    public static JsonElement? ParseUserData(string? text, string source)
    {
        if (string.IsNullOrEmpty(text))
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
            throw new PgArchiveConfigurationException($"{source} is not valid JSON: {ex.Message}", ex);
        }
    }
}

/// <summary>A WAL-G flag pgarchive refuses, declared so that it is recognised (and its setting, when WAL-G has one).</summary>
/// <param name="Option">The flag, described as not supported.</param>
/// <param name="Setting">WAL-G's setting of the same meaning, refused when true; null when none.</param>
/// <param name="Reason">Why pgarchive does not take it, and what to do instead.</param>
internal sealed record RefusedFlag(Option<bool> Option, string? Setting, string Reason)
{
    /// <summary>A refused boolean flag <paramref name="name"/> (with WAL-G's one-letter <paramref name="alias"/>, if any).</summary>
    public static RefusedFlag Create(string name, string? alias, string? setting, string reason)
    {
        var option = alias is null ? new Option<bool>(name) : new Option<bool>(name, alias);
        option.Description = "WAL-G's; not supported by pgarchive: " + reason + ".";
        return new RefusedFlag(option, setting, reason);
    }
}
