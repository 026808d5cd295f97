using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The cut-download contract for the GCS store (the real SDK) against the emulator through <see cref="FaultProxy"/>:
/// only media downloads are cut (not the metadata GET a read starts with), and a resumed read logs GcsReadResumed.
/// </summary>
public sealed class GcsFaultProxyTests(GcsEmulatorFixture gcs) : CutDownloadConformanceTests
{
    private readonly EventLog _log = new();

    /// <summary>Large enough that the first bytes are read before the cut (at half the body): the read resumes mid-way.</summary>
    protected override int ObjectSize => (12 << 20) + 17;

    protected override ByteRange CutRange => new(12345, 10 << 20);

    protected override Func<ProxyRequest, bool>? BodyRequests => r => r.Target.Contains("alt=media", StringComparison.Ordinal);

    protected override CutCount CutsWhenCutEveryTime => CutCount.AtLeast(2);

    protected override FaultProxy StartProxy() => FaultProxy.Start(new Uri(gcs.Endpoint));

    protected override IObjectStore CreateStore(FaultProxy proxy) => NewStore(proxy.Endpoint.Authority);

    protected override IObjectStore CreateWriter(FaultProxy proxy) => NewStore(gcs.EmulatorHost);

    protected override void AssertResumedOnce()
    {
        Output(string.Join(", ", _log.Events));
        Assert.Equal(["GcsReadResumed"], _log.Events);
    }

    private GcsObjectStore NewStore(string emulatorHost)
    {
        var options = gcs.Options(Prefix);
        options.EmulatorHost = emulatorHost;
        return new GcsObjectStore(GcsObjectStore.CreateClient(options), options, _log);
    }

    /// <summary>The names of the events the store logged.</summary>
    private sealed class EventLog : ILogger<GcsObjectStore>
    {
        private readonly ConcurrentQueue<string> _events = new();

        public IReadOnlyList<string> Events => [.. _events];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _events.Enqueue(eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
