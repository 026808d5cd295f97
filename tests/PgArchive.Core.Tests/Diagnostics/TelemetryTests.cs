using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Wal;

namespace PgArchive.Diagnostics;

public sealed class TelemetryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("pgarchive-telemetry-").FullName;
    private readonly ConcurrentBag<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];
    private readonly MeterListener _listener = new();

    public TelemetryTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PgArchiveTelemetry.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _measurements.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));

    [Fact]
    public async Task Wal_push_records_duration_bytes_errors_and_a_span()
    {
        var activities = new ConcurrentBag<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PgArchiveTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(activityListener);
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        await using var provider = services.BuildServiceProvider();
        var archiver = provider.GetRequiredService<WalArchiver>();
        var segment = Path.Combine(_directory, "0000000100000000000000AB");
        await File.WriteAllBytesAsync(segment, new byte[1 << 20], TestContext.Current.CancellationToken);

        var pushed = await archiver.PushAsync(segment, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(segment, Enumerable.Repeat((byte)1, 1 << 20).ToArray(), TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<WalArchiveConflictException>(() => archiver.PushAsync(segment, TestContext.Current.CancellationToken));

        Assert.Contains(_measurements, m => m.Instrument == "pgarchive.wal_push.duration" && m.Value > 0);
        Assert.Contains(_measurements, m => m.Instrument == "pgarchive.bytes.uploaded" && (long)m.Value == pushed.StoredBytes);
        Assert.Contains(_measurements, m => m.Instrument == "pgarchive.bytes.read" && (long)m.Value == 1 << 20);
        Assert.Contains(_measurements, m => m.Instrument == "pgarchive.errors"
            && (string?)m.Tags["operation"] == "wal-push" && (string?)m.Tags["error.kind"] == nameof(WalArchiveConflictException));
        Assert.Contains(activities, a => a.OperationName == "wal-push" && (string?)a.GetTagItem("pgarchive.wal_file") == "0000000100000000000000AB"
            && a.Status == ActivityStatusCode.Unset);
        Assert.Contains(activities, a => a.OperationName == "wal-push" && a.Status == ActivityStatusCode.Error);
    }
}
