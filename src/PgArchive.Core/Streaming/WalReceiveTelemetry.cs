using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using PgArchive.Diagnostics;

namespace PgArchive.Streaming;

/// <summary>
/// The receive lag of every live <see cref="WalReceiver"/>, as gauges of the <c>PgArchive</c> meter:
/// <c>pgarchive.wal_receive.lag</c> (seconds the oldest WAL the server flushed but the archive does not hold has waited)
/// and <c>pgarchive.wal_receive.lag_bytes</c>.
/// </summary>
internal static class WalReceiveTelemetry
{
    private static readonly ConditionalWeakTable<WalReceiver, object?> Receivers = [];

    private static readonly ObservableGauge<double> LagSeconds = PgArchiveTelemetry.Meter.CreateObservableGauge(
        "pgarchive.wal_receive.lag", () => Measure(s => s.Lag.TotalSeconds), "s",
        "Seconds the oldest WAL the server has flushed but the archive does not hold yet has been waiting (wal-receive).");

    private static readonly ObservableGauge<long> LagBytes = PgArchiveTelemetry.Meter.CreateObservableGauge(
        "pgarchive.wal_receive.lag_bytes", () => Measure(s => s.LagBytes), "By",
        "Bytes of WAL the server has flushed that the archive does not hold yet (wal-receive).");

    public static void Track(WalReceiver receiver)
    {
        _ = LagSeconds;
        _ = LagBytes;
        Receivers.TryAdd(receiver, null);
    }

    private static List<Measurement<T>> Measure<T>(Func<WalReceiverStatus, T> value) where T : struct =>
        Receivers.Select(r => new Measurement<T>(value(r.Key.Status))).ToList();
}
