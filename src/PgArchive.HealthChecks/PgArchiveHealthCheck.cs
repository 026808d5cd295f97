using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using PgArchive.Backups;
using PgArchive.Storage;
using PgArchive.Streaming;

namespace PgArchive.HealthChecks;

/// <summary>
/// Reports the archive's health from its catalog: Unhealthy when there is no backup or the newest is older
/// than <see cref="PgArchiveHealthCheckOptions.MaxBackupAge"/>, Degraded when the newest archived WAL file is
/// older than <see cref="PgArchiveHealthCheckOptions.MaxWalArchiveLag"/> or, when the host runs a
/// <see cref="WalReceiver"/>, its receive lag exceeds <see cref="PgArchiveHealthCheckOptions.MaxWalReceiveLag"/>;
/// Healthy otherwise. The result's data names the newest backup, its age, the last archived WAL file and its age,
/// and the receiver's lag (seconds and bytes), positions and state. Needs list and read permission on the store only.
/// </summary>
public sealed class PgArchiveHealthCheck : IHealthCheck
{
    private readonly BackupCatalog _catalog;
    private readonly IObjectStore _store;
    private readonly IOptionsMonitor<PgArchiveHealthCheckOptions> _options;
    private readonly TimeProvider _time;
    private readonly WalReceiver? _receiver;

    /// <summary>Creates the check; <paramref name="walReceiver"/> adds its receive lag (null: no WAL streaming).</summary>
    public PgArchiveHealthCheck(BackupCatalog catalog, IObjectStore store, IOptionsMonitor<PgArchiveHealthCheckOptions> options, TimeProvider? timeProvider = null,
        WalReceiver? walReceiver = null)
    {
        _receiver = walReceiver;
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = _options.Get(context.Registration.Name);
        var now = _time.GetUtcNow();
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var receiving = _receiver?.Status;
        if (receiving is not null)
        {
            data["wal_receive_lag_seconds"] = receiving.Lag.TotalSeconds;
            data["wal_receive_lag_bytes"] = receiving.LagBytes;
            data["wal_receive_server_flush_lsn"] = receiving.ServerFlushLsn.ToString();
            data["wal_receive_stored_lsn"] = receiving.StoredLsn.ToString();
            data["wal_receive_streaming"] = receiving.IsStreaming;
            if (receiving.LastError is { } error)
            {
                data["wal_receive_last_error"] = error;
            }
        }

        try
        {
            var backups = await _catalog.ListAsync(cancellationToken).ConfigureAwait(false);
            var wal = await NewestWalAsync(cancellationToken).ConfigureAwait(false);
            if (wal is not null)
            {
                data["last_archived_wal"] = wal.Key[ArchiveLayout.WalPrefix.Length..];
                data["last_archived_wal_age_seconds"] = Seconds(now - wal.LastModified);
            }

            if (backups.Count == 0)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "There is no backup in the archive.", data: data);
            }

            var newest = backups[^1];
            var age = now - newest.LastModified;
            data["backup_name"] = newest.Name;
            data["backup_age_seconds"] = Seconds(age);
            data["backup_count"] = backups.Count;
            if (age > options.MaxBackupAge)
            {
                return new HealthCheckResult(context.Registration.FailureStatus,
                    $"The newest backup, {newest.Name}, is {Describe(age)} old (limit {Describe(options.MaxBackupAge)}).", data: data);
            }

            if (receiving is not null && receiving.Lag > options.MaxWalReceiveLag)
            {
                return HealthCheckResult.Degraded(
                    string.Create(CultureInfo.InvariantCulture,
                        $"WAL streaming lags: the server flushed {receiving.LagBytes} bytes the archive does not hold, the oldest {receiving.Lag.TotalSeconds:0.#} s ago " +
                        $"(limit {options.MaxWalReceiveLag.TotalSeconds:0.#} s){(receiving.LastError is { } failure ? ": " + failure : ".")}"), data: data);
            }

            if (wal is null || now - wal.LastModified > options.MaxWalArchiveLag)
            {
                var what = wal is null ? "No WAL file is archived" : $"The newest archived WAL file is {Describe(now - wal.LastModified)} old";
                return HealthCheckResult.Degraded($"{what} (limit {Describe(options.MaxWalArchiveLag)}): is archive_command failing?", data: data);
            }

            return HealthCheckResult.Healthy($"Backup {newest.Name} is {Describe(age)} old; WAL archived {Describe(now - wal.LastModified)} ago.", data);
        }
        catch (PgArchiveException ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "The archive cannot be read: " + ex.Message, ex, data);
        }
    }

    private async Task<ObjectInfo?> NewestWalAsync(CancellationToken cancellationToken)
    {
        ObjectInfo? newest = null;
        await foreach (var info in _store.ListAsync(ArchiveLayout.WalPrefix, cancellationToken).ConfigureAwait(false))
        {
            if (newest is null || info.LastModified > newest.LastModified)
            {
                newest = info;
            }
        }

        return newest;
    }

    private static long Seconds(TimeSpan span) => (long)Math.Max(0, span.TotalSeconds);

    private static string Describe(TimeSpan span) => span.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.#} h")
        : string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, span.TotalMinutes):0.#} min");
}
