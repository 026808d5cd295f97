using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgArchive.Diagnostics;
using PgArchive.Storage;
using PgArchive.Wal;

namespace PgArchive.Streaming;

/// <summary>
/// Receives WAL over PostgreSQL's streaming replication protocol into the archive (<c>wal-receive</c>), in WAL-G's
/// layout, so that <c>wal-fetch</c>, <c>wal-verify</c>, retention and point-in-time recovery need nothing else: complete
/// segments under their own names, create-only; the segment in progress as <c>&lt;segment&gt;.partial</c>, replaced as
/// it grows at <see cref="WalReceiverOptions.FlushInterval"/> (or every batch, <see cref="WalReceiverOptions.Synchronous"/>);
/// timeline history files as the server reports switches. The server is told WAL is written and flushed only once the
/// store acknowledged it, so its replication slot keeps the rest across restarts, store outages and crashes.
/// </summary>
/// <remarks>
/// As a hosted service it streams until the host stops, reconnecting after <see cref="WalReceiverOptions.ReconnectDelay"/>
/// whatever failed (the failure is logged and in <see cref="Status"/>). <see cref="RunAsync"/> is the same loop for a
/// command line: it fails at once when the first connection's set-up fails (role, slot, configuration). One receiver
/// per archive and timeline history: two would replace each other's <c>.partial</c> objects.
/// </remarks>
public sealed class WalReceiver : BackgroundService
{
    private readonly WalReceiverOptions _options;
    private readonly ReceivedWalStore _store;
    private readonly ReceiveLagTracker _lag;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private volatile bool _streaming;
    private uint _timeline;
    private DateTimeOffset? _lastStoredAt;
    private volatile string? _lastError;

    /// <summary>Creates the receiver.</summary>
    public WalReceiver(IObjectStore store, ObjectCodec codec, IOptions<WalReceiverOptions> options, IOptions<PgArchiveOptions>? archiveOptions = null,
        ILogger<WalReceiver>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(codec);
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _logger = logger ?? NullLogger<WalReceiver>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        var archive = archiveOptions?.Value ?? new PgArchiveOptions();
        var retry = StoreRetry.Build(archive, _time, _logger, store);
        _store = new ReceivedWalStore(store, codec, _logger, retry, archive.UseWalDelta);
        _lag = new ReceiveLagTracker(_time);
        WalReceiveTelemetry.Track(this);
    }

    /// <summary>The lag tracker the sessions report to (tests drive it with a fake clock).</summary>
    internal ReceiveLagTracker LagTracker => _lag;

    /// <summary>Where the receiver stands now: positions, lag, last failure.</summary>
    public WalReceiverStatus Status => new(_streaming, _timeline, _lag.ServerFlushLsn, _lag.StoredLsn, _lastStoredAt, _lastError) { Lag = _lag.Lag };

    /// <summary>
    /// Streams until <paramref name="cancellationToken"/> is cancelled (then stores what arrived and returns by throwing
    /// <see cref="OperationCanceledException"/>). Fails with a <see cref="PgArchiveException"/> when the first connection
    /// cannot be set up (unreachable server, a role without REPLICATION, a missing slot, <c>max_wal_senders</c> = 0) or the
    /// archive holds different WAL under a name it writes; after streaming once, reconnects whatever else fails.
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken = default) => RunCoreAsync(failFast: true, cancellationToken);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunCoreAsync(failFast: false, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunCoreAsync(bool failFast, CancellationToken cancellationToken)
    {
        Validate(_options);
        var streamedOnce = false;
        while (true)
        {
            var session = new WalReceiveSession(_options, _store, _lag, _logger, _time, OnProgress);
            try
            {
                await session.RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _streaming = false;
                throw;
            }
            catch (Exception ex) when (ex is PgArchiveException or IOException or System.Net.Sockets.SocketException)
            {
                _streaming = false;
                _lastError = ex.Message;
                streamedOnce |= session.Streamed;
                if (failFast && (!streamedOnce || ex is WalArchiveConflictException or PgArchiveConfigurationException))
                {
                    throw ex is PgArchiveException ? ex : new PgArchiveException($"WAL streaming failed: {ex.Message}", ex);
                }

                Log.StreamingInterrupted(_logger, ex.Message, _options.ReconnectDelay.TotalSeconds);
            }

            await Task.Delay(_options.ReconnectDelay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private void OnProgress(uint timeline, DateTimeOffset? storedAt)
    {
        _streaming = true;
        _timeline = timeline;
        if (storedAt is not null)
        {
            _lastStoredAt = storedAt;
            _lastError = null;
        }
    }

    // Options built by hand (not through AddWalReceiver's start-up validation) are checked by the same rules.
    private static void Validate(WalReceiverOptions options) =>
        OptionsFailures.ThrowIfAny(new WalReceiverOptionsValidator().Validate(null, options).Failures);
}
