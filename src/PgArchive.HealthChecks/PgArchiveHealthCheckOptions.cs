namespace PgArchive.HealthChecks;

/// <summary>Thresholds of <see cref="PgArchiveHealthCheck"/>, bindable from configuration (e.g. <c>PgArchive:HealthCheck</c>).</summary>
public sealed class PgArchiveHealthCheckOptions
{
    /// <summary>
    /// The newest backup may be this old before the check reports Unhealthy.
    /// <value>Default 26 hours: a daily backup with two hours of slack.</value>
    /// </summary>
    public TimeSpan MaxBackupAge { get; set; } = TimeSpan.FromHours(26);

    /// <summary>
    /// The newest archived WAL file may be this old before the check reports Degraded. Set it above
    /// PostgreSQL's <c>archive_timeout</c>, or an idle server looks lagging.
    /// <value>Default 15 minutes.</value>
    /// </summary>
    public TimeSpan MaxWalArchiveLag { get; set; } = TimeSpan.FromMinutes(15);
}
