using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using PgArchive.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds <see cref="PgArchiveHealthCheck"/> to a health checks builder.</summary>
public static class PgArchiveHealthCheckBuilderExtensions
{
    /// <summary>The default registration name.</summary>
    public const string DefaultName = "pgarchive";

    /// <summary>Adds the archive health check; needs <c>AddPgArchive()</c> with a store registered.</summary>
    public static IHealthChecksBuilder AddPgArchive(this IHealthChecksBuilder builder, Action<PgArchiveHealthCheckOptions>? configure = null,
        string name = DefaultName, HealthStatus failureStatus = HealthStatus.Unhealthy, IEnumerable<string>? tags = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<PgArchiveHealthCheckOptions>(name).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddSingleton<IValidateOptions<PgArchiveHealthCheckOptions>, PgArchiveHealthCheckOptionsValidator>();
        return builder.Add(new HealthCheckRegistration(name, sp => ActivatorUtilities.CreateInstance<PgArchiveHealthCheck>(sp), failureStatus, tags, timeout));
    }

    /// <summary>Adds the archive health check with thresholds bound from <paramref name="configuration"/>.</summary>
    public static IHealthChecksBuilder AddPgArchive(this IHealthChecksBuilder builder, IConfiguration configuration,
        string name = DefaultName, HealthStatus failureStatus = HealthStatus.Unhealthy, IEnumerable<string>? tags = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddPgArchive(o => configuration.Bind(o), name, failureStatus, tags, timeout);
    }
}

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
