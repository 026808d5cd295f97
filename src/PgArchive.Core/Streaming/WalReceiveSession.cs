using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.Logging;
using PgArchive.Diagnostics;
using PgArchive.PostgresTypes;
using PgArchive.Streaming.Protocol;

namespace PgArchive.Streaming;

/// <summary>
/// One replication connection of <see cref="WalReceiver"/>: identifies the server, reads or creates the slot, archives
/// the timeline history files, then streams from the start of the segment that holds the slot's restart position (so
/// every segment it stores is whole from its first byte), following each timeline switch the server reports, until
/// cancelled or the connection fails.
/// </summary>
/// <remarks>
/// The reader copies each XLogData message into the buffer of its segment; a second loop stores what arrived (the
/// segment in progress as <c>.partial</c>, at <see cref="WalReceiverOptions.FlushInterval"/> or at once in synchronous
/// mode; a completed segment under its own name) and only then reports the position as written and flushed. The
/// server's slot therefore keeps all the archive does not hold.
/// </remarks>
internal sealed class WalReceiveSession
{
    private static readonly DateTime PostgresEpoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly WalReceiverOptions _options;
    private readonly ReceivedWalStore _store;
    private readonly ReceiveLagTracker _lag;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Action<uint, DateTimeOffset?> _progress;

    public WalReceiveSession(WalReceiverOptions options, ReceivedWalStore store, ReceiveLagTracker lag, ILogger logger, TimeProvider time,
        Action<uint, DateTimeOffset?> progress)
    {
        _options = options;
        _store = store;
        _lag = lag;
        _logger = logger;
        _time = time;
        _progress = progress;
    }

    /// <summary>True once the server accepted START_REPLICATION: the set-up (connection, role, slot) is sound.</summary>
    public bool Streamed { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var settings = PgConnectionSettings.From(_options.ConnectionString, _options.ApplicationName);
        var client = await ReplicationClient.OpenAsync(settings, cancellationToken).ConfigureAwait(false);
        await using (client.ConfigureAwait(false))
        {
            client.Connection.Notice = (severity, message) => Log.ServerNotice(_logger, severity, message);
            var identity = await client.IdentifySystemAsync(cancellationToken).ConfigureAwait(false);
            var segmentSize = await client.WalSegmentSizeAsync(cancellationToken).ConfigureAwait(false);
            var start = await StartPositionAsync(client, identity, cancellationToken).ConfigureAwait(false);
            var history = await ArchiveHistoryAsync(client, identity.Timeline, cancellationToken).ConfigureAwait(false);
            var timeline = TimelineOf(history, start);
            var position = new Lsn(start.Value - start.Value % (ulong)segmentSize);
            while (true)
            {
                _progress(timeline, null);
                Log.StreamingStarted(_logger, client.Connection.Endpoint, timeline, position.ToString(), _options.SlotName ?? "(none)");
                var (next, switchLsn) = await StreamTimelineAsync(client, timeline, position, segmentSize, cancellationToken).ConfigureAwait(false);
                Log.TimelineEnded(_logger, timeline, switchLsn.ToString(), next);
                var (file, content) = await client.TimelineHistoryAsync(next, cancellationToken).ConfigureAwait(false);
                await _store.StoreHistoryAsync(file, content, cancellationToken).ConfigureAwait(false);
                timeline = next;
                position = new Lsn(switchLsn.Value - switchLsn.Value % (ulong)segmentSize);
            }
        }
    }

    private async Task<Lsn> StartPositionAsync(ReplicationClient client, SystemIdentity identity, CancellationToken cancellationToken)
    {
        if (_options.SlotName is not { Length: > 0 } name)
        {
            Log.StreamingWithoutSlot(_logger);
            return identity.XLogPos;
        }

        var slot = await client.ReadSlotAsync(name, cancellationToken).ConfigureAwait(false);
        if (slot is null)
        {
            if (!_options.CreateSlot)
            {
                throw new PgArchiveConfigurationException(
                    $"Replication slot '{name}' does not exist on {client.Connection.Endpoint}: create it (SELECT pg_create_physical_replication_slot('{name}', true)), " +
                    "let wal-receive create it (--create-slot), or name another one (--slot, WALG_SLOTNAME).");
            }

            await client.CreateSlotAsync(name, cancellationToken).ConfigureAwait(false);
            Log.SlotCreated(_logger, name);
            slot = await client.ReadSlotAsync(name, cancellationToken).ConfigureAwait(false);
        }

        if (slot?.RestartLsn is { } restart)
        {
            // The slot's restart position was reported flushed, so the archive holds everything before it.
            _lag.StoredUpTo(restart);
            return restart;
        }

        return identity.XLogPos;
    }

    /// <summary>Stores the history files of the server's timeline and its ancestors; returns the server timeline's history.</summary>
    private async Task<TimelineHistory> ArchiveHistoryAsync(ReplicationClient client, uint timeline, CancellationToken cancellationToken)
    {
        if (timeline <= 1)
        {
            return TimelineHistory.Root(timeline);
        }

        var (file, content) = await client.TimelineHistoryAsync(timeline, cancellationToken).ConfigureAwait(false);
        var history = TimelineHistory.Parse(timeline, content);
        foreach (var ancestor in history.Entries.Select(e => e.ParentTimeline).Where(t => t > 1))
        {
            try
            {
                var (ancestorFile, ancestorContent) = await client.TimelineHistoryAsync(ancestor, cancellationToken).ConfigureAwait(false);
                await _store.StoreHistoryAsync(ancestorFile, ancestorContent, cancellationToken).ConfigureAwait(false);
            }
            catch (PgServerException ex) when (!ex.IsFatal)
            {
                // The server no longer has it (removed by hand): the newest history lists all ancestors anyway.
            }
        }

        await _store.StoreHistoryAsync(file, content, cancellationToken).ConfigureAwait(false);
        return history;
    }

    /// <summary>The timeline whose WAL holds <paramref name="lsn"/> along <paramref name="history"/> (PostgreSQL's tliOfPointInHistory).</summary>
    internal static uint TimelineOf(TimelineHistory history, Lsn lsn)
    {
        foreach (var entry in history.Entries)
        {
            if (lsn < entry.SwitchLsn)
            {
                return entry.ParentTimeline;
            }
        }

        return history.Timeline;
    }

    /// <summary>Streams one timeline from <paramref name="position"/>; returns the next timeline and where it begins once the server ends this one.</summary>
    private async Task<(uint Next, Lsn Start)> StreamTimelineAsync(ReplicationClient client, uint timeline, Lsn position, long segmentSize,
        CancellationToken cancellationToken)
    {
        var connection = client.Connection;
        var slot = _options.SlotName is { Length: > 0 } name ? $"SLOT {name} " : "";
        await connection.SendQueryAsync(string.Create(CultureInfo.InvariantCulture, $"START_REPLICATION {slot}PHYSICAL {position} TIMELINE {timeline}"),
            cancellationToken).ConfigureAwait(false);
        var first = await connection.ReadAsync(cancellationToken).ConfigureAwait(false);
        switch ((char)first.Type)
        {
            case 'E':
                var error = PgWireConnection.Error(first.Payload.Span, $"PostgreSQL at {connection.Endpoint} refused to stream timeline {timeline} from {position}");
                await DrainToReadyAsync(connection, cancellationToken).ConfigureAwait(false);
                throw error;
            case 'T':
                // Asked for exactly the end of an old timeline: the server skips COPY mode and names the next one.
                return await ReadNextTimelineAsync(connection, first, cancellationToken).ConfigureAwait(false);
            case 'W':
                break;
            default:
                throw connection.Protocol($"'{(char)first.Type}' in reply to START_REPLICATION");
        }

        Streamed = true;
        using var pump = new SegmentPump(this, connection, WalSegment.Containing(position, timeline, segmentSize));
        return await pump.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<(uint Next, Lsn Start)> ReadNextTimelineAsync(PgWireConnection connection, BackendMessage? first, CancellationToken cancellationToken)
    {
        (uint, Lsn)? next = null;
        var message = first ?? await connection.ReadAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            switch ((char)message.Type)
            {
                case 'D':
                    var row = PgWireConnection.ReadDataRow(message.Payload.Span);
                    next = (uint.Parse(PgWireConnection.Text(row[0])!, CultureInfo.InvariantCulture), Lsn.Parse(PgWireConnection.Text(row[1])!));
                    break;
                case 'E':
                    throw PgWireConnection.Error(message.Payload.Span, "PostgreSQL ended the timeline with an error");
                case 'Z':
                    return next ?? throw connection.Protocol("the end of a timeline without the next timeline");
            }

            message = await connection.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task DrainToReadyAsync(PgWireConnection connection, CancellationToken cancellationToken)
    {
        while ((await connection.ReadAsync(cancellationToken).ConfigureAwait(false)).Type != (byte)'Z')
        {
        }
    }

    /// <summary>Standby status update: written and flushed = stored, applied = invalid (nothing is replayed), as pg_receivewal sends it.</summary>
    private Task SendStatusAsync(PgWireConnection connection, bool replyRequested, CancellationToken cancellationToken)
    {
        var stored = _lag.StoredLsn.Value;
        var message = new byte[34];
        message[0] = (byte)'r';
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(1), stored);
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(9), stored);
        BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(17), 0);
        BinaryPrimitives.WriteInt64BigEndian(message.AsSpan(25), (_time.GetUtcNow().UtcDateTime - PostgresEpoch).Ticks / 10);
        message[33] = replyRequested ? (byte)1 : (byte)0;
        return connection.SendCopyDataAsync(message, cancellationToken);
    }

    /// <summary>A segment being received: its bytes so far, and how many of them are stored.</summary>
    private sealed class SegmentBuffer(WalSegment segment, byte[] data)
    {
        public WalSegment Segment { get; } = segment;

        public byte[] Data { get; } = data;

        /// <summary>Bytes received (written only by the reader, under the pump's lock).</summary>
        public int Length { get; set; }

        /// <summary>Bytes stored as the <c>.partial</c> object (the uploader's).</summary>
        public int StoredLength { get; set; }

        /// <summary>A <c>.partial</c> already in the archive when this session began (the uploader's): not replaced until outgrown.</summary>
        public byte[]? Existing { get; set; }

        public int ExistingLength { get; set; }

        public bool Checked { get; set; }
    }

    /// <summary>The reader and the uploader of one START_REPLICATION.</summary>
    private sealed class SegmentPump : IDisposable
    {
        private readonly WalReceiveSession _session;
        private readonly PgWireConnection _connection;
        private readonly Lock _gate = new();
        private readonly Queue<SegmentBuffer> _completed = new();
        private readonly SemaphoreSlim _slots = new(2, 2);
        private readonly SemaphoreSlim _wake = new(0, 1);
        private readonly Stack<byte[]> _pool = new();
        private SegmentBuffer _current;
        private bool _ending;
        private DateTimeOffset _lastFlush = DateTimeOffset.MinValue;
        private DateTimeOffset _lastStatus;
        private long _lastReceivedTicks;
        private long _lastPingTicks;

        public SegmentPump(WalReceiveSession session, PgWireConnection connection, WalSegment first)
        {
            _session = session;
            _connection = connection;
            _current = new SegmentBuffer(first, new byte[first.SegmentSize]);
            _lastStatus = session._time.GetUtcNow();
            _lastReceivedTicks = _lastStatus.UtcTicks;
        }

        /// <summary>When the server last sent anything (WAL or a keepalive); the read loop sets it, the status loop reads it.</summary>
        private DateTimeOffset LastReceived => new(Interlocked.Read(ref _lastReceivedTicks), TimeSpan.Zero);

        /// <summary>
        /// The server has been silent for half of <see cref="WalReceiverOptions.ReceiveTimeout"/> and was not asked for a reply
        /// since: a walsender whose standby reports regularly sends no keepalive of its own, so an idle primary says
        /// nothing until asked (PostgreSQL's walreceiver asks the same way, at half of wal_receiver_timeout).
        /// </summary>
        private bool PingDue(DateTimeOffset now) =>
            now - LastReceived >= Options.ReceiveTimeout / 2 && Interlocked.Read(ref _lastPingTicks) < Interlocked.Read(ref _lastReceivedTicks);

        private WalReceiverOptions Options => _session._options;

        public void Dispose()
        {
            _slots.Dispose();
            _wake.Dispose();
        }

        public async Task<(uint Next, Lsn Start)> RunAsync(CancellationToken cancellationToken)
        {
            // The reader stops when the caller cancels or the uploader fails; the uploader only when told, so that a
            // stop can still store what arrived.
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var stopUploader = new CancellationTokenSource();
            var uploader = Task.Run(() => UploadLoopAsync(reading, stopUploader.Token), CancellationToken.None);
            try
            {
                await ReadLoopAsync(reading.Token).ConfigureAwait(false);
                // The server ended the timeline: store the rest of its last segment, then learn the next timeline.
                Finish();
                await uploader.ConfigureAwait(false);
                return await ReadNextTimelineAsync(_connection, null, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (reading.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                await uploader.ConfigureAwait(false); // the store failed first: that is the reason
                throw;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping: store what arrived (bounded wait), so the archive holds all that was received.
                Finish();
                stopUploader.CancelAfter(TimeSpan.FromSeconds(30));
                await ((Task)uploader).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw;
            }
            finally
            {
                Finish();
                await stopUploader.CancelAsync().ConfigureAwait(false);
                await ((Task)uploader).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        private void Finish()
        {
            lock (_gate)
            {
                _ending = true;
            }

            Wake();
        }

        private void Wake()
        {
            if (_wake.CurrentCount == 0)
            {
                try
                {
                    _wake.Release();
                }
                catch (SemaphoreFullException)
                {
                }
            }
        }

        private async Task ReadLoopAsync(CancellationToken cancellationToken)
        {
            using var receive = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            while (true)
            {
                receive.CancelAfter(Options.ReceiveTimeout);
                BackendMessage message;
                try
                {
                    message = await _connection.ReadAsync(receive.Token).ConfigureAwait(false);
                    Interlocked.Exchange(ref _lastReceivedTicks, _session._time.GetUtcNow().UtcTicks);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new PgArchiveException(string.Create(CultureInfo.InvariantCulture,
                        $"PostgreSQL at {_connection.Endpoint} sent nothing for {Options.ReceiveTimeout.TotalSeconds:0} s (ReceiveTimeout): the connection is taken as lost."));
                }

                switch ((char)message.Type)
                {
                    case 'd':
                        await OnCopyDataAsync(message.Payload, cancellationToken).ConfigureAwait(false);
                        break;
                    case 'c':
                        await _connection.SendCopyDoneAsync(cancellationToken).ConfigureAwait(false);
                        return;
                    case 'E':
                        throw PgWireConnection.Error(message.Payload.Span, $"PostgreSQL at {_connection.Endpoint} stopped streaming");
                    default:
                        throw _connection.Protocol($"'{(char)message.Type}' while streaming");
                }
            }
        }

        private async Task OnCopyDataAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            switch ((char)payload.Span[0])
            {
                case 'w':
                    var start = new Lsn(BinaryPrimitives.ReadUInt64BigEndian(payload.Span[1..]));
                    var serverEnd = new Lsn(BinaryPrimitives.ReadUInt64BigEndian(payload.Span[9..]));
                    await AppendAsync(start, payload[25..], cancellationToken).ConfigureAwait(false);
                    _session._lag.ServerAt(serverEnd);
                    break;
                case 'k':
                    _session._lag.ServerAt(new Lsn(BinaryPrimitives.ReadUInt64BigEndian(payload.Span[1..])));
                    if (payload.Span[17] == 1)
                    {
                        await _session.SendStatusAsync(_connection, false, cancellationToken).ConfigureAwait(false);
                    }

                    break;
                default:
                    throw _connection.Protocol($"CopyData '{(char)payload.Span[0]}' while streaming");
            }
        }

        private async Task AppendAsync(Lsn start, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            var current = _current;
            var expected = new Lsn(current.Segment.StartLsn.Value + (ulong)current.Length);
            if (start != expected)
            {
                throw _connection.Protocol($"WAL data at {start} where {expected} was expected");
            }

            while (data.Length > 0)
            {
                var size = (int)current.Segment.SegmentSize;
                var take = Math.Min(data.Length, size - current.Length);
                data.Span[..take].CopyTo(current.Data.AsSpan(current.Length));
                lock (_gate)
                {
                    current.Length += take;
                }

                data = data[take..];
                if (current.Length == size)
                {
                    await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                    lock (_gate)
                    {
                        _completed.Enqueue(current);
                        var next = current.Segment.Next();
                        _current = current = new SegmentBuffer(next, _pool.TryPop(out var reused) ? reused : new byte[size]);
                    }
                }
            }

            Wake();
        }

        private async Task UploadLoopAsync(CancellationTokenSource reading, CancellationToken stop)
        {
            try
            {
                await UploadAsync(stop).ConfigureAwait(false);
            }
            catch
            {
                await reading.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }

        private async Task UploadAsync(CancellationToken cancellationToken)
        {
            var time = _session._time;
            while (true)
            {
                SegmentBuffer? final = null;
                SegmentBuffer current;
                int length;
                bool ending;
                lock (_gate)
                {
                    current = _current;
                    length = current.Length;
                    ending = _ending;
                    if (_completed.Count > 0)
                    {
                        final = _completed.Dequeue();
                    }
                }

                if (final is not null)
                {
                    await StoreFinalAsync(final, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var now = time.GetUtcNow();
                var due = ending || Options.Synchronous || now - _lastFlush >= Options.FlushInterval
                    || (Options.FlushBytes > 0 && length - current.StoredLength >= Options.FlushBytes);
                if (length > current.StoredLength && due)
                {
                    await StorePartialAsync(current, length, cancellationToken).ConfigureAwait(false);
                    _lastFlush = now;
                    continue;
                }

                if (ending)
                {
                    await _session.SendStatusAsync(_connection, false, cancellationToken).ConfigureAwait(false);
                    return;
                }

                if (time.GetUtcNow() - _lastStatus >= Options.StatusInterval || PingDue(time.GetUtcNow()))
                {
                    await Report(cancellationToken).ConfigureAwait(false);
                }

                var wait = Options.StatusInterval - (time.GetUtcNow() - _lastStatus);
                var pingIn = Options.ReceiveTimeout / 2 - (time.GetUtcNow() - LastReceived);
                wait = pingIn > TimeSpan.Zero && pingIn < wait ? pingIn : wait;
                if (length > current.StoredLength && !Options.Synchronous)
                {
                    var flushIn = Options.FlushInterval - (time.GetUtcNow() - _lastFlush);
                    wait = flushIn < wait ? flushIn : wait;
                }

                await _wake.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            }
        }

        private async Task StoreFinalAsync(SegmentBuffer final, CancellationToken cancellationToken)
        {
            await _session._store.StoreSegmentAsync(final.Segment, final.Data, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (_pool.Count < 2)
                {
                    _pool.Push(final.Data);
                }
            }

            _slots.Release();
            await StoredAsync(final.Segment.Next().StartLsn, cancellationToken).ConfigureAwait(false);
        }

        private async Task StorePartialAsync(SegmentBuffer current, int length, CancellationToken cancellationToken)
        {
            if (!current.Checked)
            {
                current.Checked = true;
                if (await _session._store.ReadPartialAsync(current.Segment, cancellationToken).ConfigureAwait(false) is { } existing)
                {
                    current.Existing = existing;
                    current.ExistingLength = existing.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
                }
            }

            if (current.Existing is { } stored)
            {
                // A .partial stored before this connection (an earlier run, or PostgreSQL's own at a promotion): never
                // replaced by less; what was received must match it, else the archive holds another history.
                var common = Math.Min(length, current.ExistingLength);
                if (!current.Data.AsSpan(0, common).SequenceEqual(stored.AsSpan(0, common)))
                {
                    throw new PgArchiveException(
                        $"'{_session._store.PartialKey(current.Segment)}' holds different WAL than the server sends for {current.Segment.FileName}: the archive holds WAL of another cluster or of a diverged history. Move that object away (it is not overwritten) and start again.");
                }

                if (length <= current.ExistingLength)
                {
                    current.StoredLength = length;
                    await StoredAsync(new Lsn(current.Segment.StartLsn.Value + (ulong)length), cancellationToken).ConfigureAwait(false);
                    return;
                }

                current.Existing = null;
            }

            await _session._store.StorePartialAsync(current.Segment, current.Data, length, cancellationToken).ConfigureAwait(false);
            current.StoredLength = length;
            var lsn = new Lsn(current.Segment.StartLsn.Value + (ulong)length);
            Log.PartialStored(_session._logger, current.Segment.FileName, lsn.ToString());
            await StoredAsync(lsn, cancellationToken).ConfigureAwait(false);
        }

        private async Task StoredAsync(Lsn lsn, CancellationToken cancellationToken)
        {
            _session._lag.StoredUpTo(lsn);
            _session._progress(_current.Segment.Timeline, _session._time.GetUtcNow());
            await Report(cancellationToken).ConfigureAwait(false);
        }

        /// <summary>Sends a status update; one that asks the server for a reply when it has been silent too long (<see cref="PingDue"/>).</summary>
        private async Task Report(CancellationToken cancellationToken)
        {
            _lastStatus = _session._time.GetUtcNow();
            var ping = PingDue(_lastStatus);
            if (ping)
            {
                Interlocked.Exchange(ref _lastPingTicks, _lastStatus.UtcTicks);
            }

            await _session.SendStatusAsync(_connection, ping, cancellationToken).ConfigureAwait(false);
        }
    }
}
