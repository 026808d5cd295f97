using Microsoft.Extensions.Options;

namespace PgArchive.HealthChecks;

/// <summary>Checks the thresholds at start-up; every failure names its setting.</summary>
internal sealed class PgArchiveHealthCheckOptionsValidator : IValidateOptions<PgArchiveHealthCheckOptions>
{
    public ValidateOptionsResult Validate(string? name, PgArchiveHealthCheckOptions options)
    {
        var failures = new List<string>();
        if (options.MaxBackupAge <= TimeSpan.Zero)
        {
            failures.Add($"PgArchive:HealthCheck:MaxBackupAge must be positive, not {options.MaxBackupAge}.");
        }

        if (options.MaxWalArchiveLag <= TimeSpan.Zero)
        {
            failures.Add($"PgArchive:HealthCheck:MaxWalArchiveLag must be positive, not {options.MaxWalArchiveLag}.");
        }

        if (options.MaxWalReceiveLag <= TimeSpan.Zero)
        {
            failures.Add($"PgArchive:HealthCheck:MaxWalReceiveLag must be positive, not {options.MaxWalReceiveLag}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
