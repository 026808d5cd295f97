using System.CommandLine;

namespace PgArchive.Cli.Commands;

/// <summary>Options every command takes.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Config { get; } = new("--config")
    {
        Description = "A WAL-G-style JSON file of settings ({\"WALG_FILE_PREFIX\": \"/backups\"}); environment variables win over it. Default: WALG_CONFIG_PATH, else ~/.walg.json when present.",
        Recursive = true,
    };

    public Option<string?> EnvDirectory { get; } = new("--envdir")
    {
        Description = "A WAL-E-style envdir: one file per variable, named after it, holding its value (as daemontools' envdir reads them). Wins over the environment.",
        Recursive = true,
    };

    public Option<bool> Turbo { get; } = new("--turbo")
    {
        Description = "WAL-G's: ignore throttling. WALG_DISK_RATE_LIMIT and WALG_NETWORK_RATE_LIMIT are lifted and, as WAL-G, backup-push reads 4 files from disk at once, whatever WALG_UPLOAD_DISK_CONCURRENCY says.",
        Recursive = true,
    };
}
