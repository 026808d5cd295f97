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

    /// <summary>Adds the archive health check with thresholds bound from <paramref name="configuration"/>; unknown keys are an error.</summary>
    public static IHealthChecksBuilder AddPgArchive(this IHealthChecksBuilder builder, IConfiguration configuration,
        string name = DefaultName, HealthStatus failureStatus = HealthStatus.Unhealthy, IEnumerable<string>? tags = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddPgArchive(o => configuration.Bind(o, b => b.ErrorOnUnknownConfiguration = true), name, failureStatus, tags, timeout);
    }
}
