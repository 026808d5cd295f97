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

    /// <summary>
    /// With a <see cref="Streaming.WalReceiver"/> in the host: the oldest WAL the server has flushed may wait this long
    /// for the archive before the check reports Degraded (the receive lag, also the <c>pgarchive.wal_receive.lag</c> metric).
    /// <value>Default 1 minute.</value>
    /// </summary>
    public TimeSpan MaxWalReceiveLag { get; set; } = TimeSpan.FromMinutes(1);
}
