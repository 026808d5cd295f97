using System.CommandLine;
using System.Text.Json;
using PgArchive.Backups;
using PgArchive.Cli.Configuration;

namespace PgArchive.Cli.Commands;

/// <summary>
/// WAL-G's backup-fetch flags (<c>cmd/pg/backup_fetch.go</c>): <c>--target-user-data</c>, <c>--mask</c>,
/// <c>--restore-spec</c>, <c>--skip-redundant-tars</c>, <c>--target-storage</c>, and <c>--restore-only</c>, which is refused.
/// </summary>
internal sealed class WalGFetchFlags
{
    private readonly Option<string?> _targetUserData = new("--target-user-data")
    {
        Description = "Restore the one backup whose user data is this JSON (--add-user-data), instead of naming it (also WALG_FETCH_TARGET_USER_DATA).",
    };

    private readonly Option<string?> _mask = new("--mask")
    {
        Description = "Restore only the files whose path relative to the destination matches this shell pattern (Go's filepath.Match, as WAL-G), " +
            "e.g. 'base/16384/*'. The result is not a data directory PostgreSQL starts (no backup_label; pg_control only if matched).",
    };

    private readonly Option<string?> _restoreSpec = new("--restore-spec")
    {
        Description = "A JSON file in WAL-G's tablespace spec form ({\"base_prefix\": DESTINATION, \"tablespaces\": [\"16390\"], \"16390\": {\"loc\": DIR, \"link\": \"pg_tblspc/16390\"}}) " +
            "saying where each tablespace goes; every tablespace of the backup must be in it.",
    };

    private readonly Option<bool> _skipRedundantTars = new("--skip-redundant-tars")
    {
        Description = "With reverse unpack (the default): do not download tar partitions none of whose files is still to restore (also WALG_SKIP_REDUNDANT_TARS).",
    };

    private readonly Option<string[]> _restoreOnly = new("--restore-only")
    {
        Description = "WAL-G's partial restore of some databases: not supported by pgarchive.",
    };

    private readonly Option<string?> _targetStorage = WalGFlags.TargetStorage();

    /// <summary>Declares the flags on <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in new Option[] { _targetUserData, _mask, _restoreSpec, _skipRedundantTars, _restoreOnly, _targetStorage })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Refuses <c>--restore-only</c> and a storage other than <c>default</c>.</summary>
    public void CheckSupported(ParseResult parseResult, WalgSettings settings)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        if (parseResult.GetValue(_restoreOnly) is { Length: > 0 })
        {
            throw new PgArchiveConfigurationException(
                "backup-fetch --restore-only is not supported: pgarchive restores whole backups (WAL-G's partial restore of some databases needs its database " +
                "composer's layout and leaves the other databases unusable); restore the backup and drop what you do not need, or use --mask to take files out.");
        }

        WalGFlags.CheckTargetStorage(parseResult, _targetStorage, settings);
    }

    /// <summary>The shell pattern of <c>--mask</c>, or null.</summary>
    public string? FileMask(ParseResult parseResult) => parseResult.GetValue(_mask) is { Length: > 0 } mask ? mask : null;

    /// <summary><c>--skip-redundant-tars</c> or <c>WALG_SKIP_REDUNDANT_TARS</c>.</summary>
    public bool SkipRedundantTars(ParseResult parseResult, WalgSettings settings) =>
        parseResult.GetValue(_skipRedundantTars) || settings.GetBoolean("WALG_SKIP_REDUNDANT_TARS") == true;

    /// <summary>
    /// The backup to restore, as WAL-G's NewTargetBackupSelector picks it: the name given (or LATEST), or the one backup
    /// whose user data is <c>--target-user-data</c> (or <c>WALG_FETCH_TARGET_USER_DATA</c>); not both, not neither.
    /// </summary>
    public async Task<string> ResolveBackupAsync(ParseResult parseResult, string? named, WalgSettings settings, BackupCatalog catalog, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(catalog);
        var (text, source) = parseResult.GetValue(_targetUserData) is { Length: > 0 } flag
            ? (flag, "--target-user-data")
            : (settings.Get("WALG_FETCH_TARGET_USER_DATA"), "WALG_FETCH_TARGET_USER_DATA");
        var userData = WalGFlags.ParseUserData(text, source);
        if (userData is null)
        {
            return named ?? throw new PgArchiveConfigurationException("backup-fetch: name the backup to restore (or LATEST), or give --target-user-data.");
        }

        if (named is not null)
        {
            throw new PgArchiveConfigurationException($"backup-fetch: name the backup ({named}) or give {source}, not both.");
        }

        var found = await catalog.FindByUserDataAsync(userData.Value, cancellationToken).ConfigureAwait(false)
            ?? throw new BackupNotFoundException($"No backup holds the user data {source} gives ({userData.Value.GetRawText()}); backup-list --detail --json shows each backup's user_data.");
        return found.Name;
    }

    /// <summary>
    /// Where the tablespaces go: from <c>--restore-spec</c> when given (WAL-G's chooseTablespaceSpecification prefers it
    /// to the sentinel's), else <paramref name="mapped"/> (<c>--tablespace-map</c>). The spec must be valid (links
    /// <c>pg_tblspc/OID</c>, absolute locations), name the destination as its <c>base_prefix</c> (where WAL-G makes the
    /// links) and give every tablespace of the backup a location (WAL-G would put one it lacks inside the destination).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> TablespaceMappingAsync(ParseResult parseResult, string backupName, string destination,
        IReadOnlyDictionary<string, string> mapped, BackupCatalog catalog, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        ArgumentNullException.ThrowIfNull(catalog);
        if (parseResult.GetValue(_restoreSpec) is not { Length: > 0 } file)
        {
            return mapped;
        }

        if (mapped.Count > 0)
        {
            throw new PgArchiveConfigurationException("backup-fetch: give the tablespace locations with --restore-spec or with --tablespace-map, not both.");
        }

        var spec = ReadRestoreSpec(file);
        var backup = await catalog.ResolveAsync(backupName, cancellationToken).ConfigureAwait(false);
        var backupSpec = (await catalog.ReadSentinelAsync(backup.Name, cancellationToken).ConfigureAwait(false)).Spec;
        var backupTablespaces = backupSpec?.Tablespaces.Keys.ToHashSet(StringComparer.Ordinal) ?? [];
        var basePrefix = Path.IsPathFullyQualified(spec.BasePrefix) ? Path.TrimEndingDirectorySeparator(Path.GetFullPath(spec.BasePrefix)) : null;
        if (spec.Tablespaces.Count > 0 && basePrefix != Path.TrimEndingDirectorySeparator(destination))
        {
            throw new PgArchiveConfigurationException(
                $"--restore-spec '{file}': base_prefix is '{spec.BasePrefix}', not the destination '{destination}' (WAL-G makes the tablespace links under base_prefix): set it to the destination.");
        }

        if (backupTablespaces.FirstOrDefault(oid => !spec.Tablespaces.ContainsKey(oid)) is { } missing)
        {
            throw new PgArchiveConfigurationException(
                $"--restore-spec '{file}' gives no location for tablespace {missing}, which backup {backup.Name} has: add it (\"{missing}\": {{\"loc\": DIR, \"link\": \"pg_tblspc/{missing}\"}}).");
        }

        if (spec.Tablespaces.Keys.FirstOrDefault(oid => !backupTablespaces.Contains(oid)) is { } extra)
        {
            throw new PgArchiveConfigurationException($"--restore-spec '{file}' names tablespace {extra}, which backup {backup.Name} does not have.");
        }

        return spec.Tablespaces.ToDictionary(t => t.Key, t => Path.TrimEndingDirectorySeparator(t.Value.Location), StringComparer.Ordinal);
    }

    private static TablespaceSpec ReadRestoreSpec(string file)
    {
        TablespaceSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize(File.ReadAllText(file), PgArchiveJsonContext.Default.TablespaceSpec);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PgArchiveConfigurationException($"--restore-spec '{file}' cannot be read: {ex.Message}", ex);
        }
        catch (JsonException ex)
        {
            throw new PgArchiveConfigurationException($"--restore-spec '{file}' is not a tablespace spec: {ex.Message}", ex);
        }

        if (spec is null)
        {
            throw new PgArchiveConfigurationException($"--restore-spec '{file}' is not a tablespace spec: it holds null.");
        }

        try
        {
            spec.Validate(file);
        }
        catch (PgArchiveException ex)
        {
            throw new PgArchiveConfigurationException(ex.Message, ex);
        }

        return spec;
    }
}
