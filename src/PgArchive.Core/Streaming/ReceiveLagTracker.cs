using PgArchive.PostgresTypes;

namespace PgArchive.Streaming;

/// <summary>
/// Tracks the server's flush position against the stored one, and since when the oldest WAL not yet stored has been
/// known: the receive lag in seconds. Thread-safe; a bounded list of (position, first seen) marks, merged 100 ms apart.
/// </summary>
internal sealed class ReceiveLagTracker(TimeProvider time)
{
    private const int MaxMarks = 4096;
    private static readonly TimeSpan MergeWindow = TimeSpan.FromMilliseconds(100);
    private readonly Lock _lock = new();
    private readonly LinkedList<(Lsn Lsn, DateTimeOffset Seen)> _marks = new();
    private Lsn _server;
    private Lsn _stored;

    public Lsn ServerFlushLsn
    {
        get
        {
            lock (_lock)
            {
                return _server;
            }
        }
    }

    public Lsn StoredLsn
    {
        get
        {
            lock (_lock)
            {
                return _stored;
            }
        }
    }

    /// <summary>The server said its WAL ends at <paramref name="lsn"/>.</summary>
    public void ServerAt(Lsn lsn)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (lsn <= _server)
            {
                return;
            }

            _server = lsn;
            if (lsn <= _stored)
            {
                return;
            }

            if (_marks.Last is { } last && (now - last.Value.Seen < MergeWindow || _marks.Count >= MaxMarks))
            {
                last.Value = (lsn, last.Value.Seen);
            }
            else
            {
                _marks.AddLast((lsn, now));
            }
        }
    }

    /// <summary>Everything before <paramref name="lsn"/> is stored.</summary>
    public void StoredUpTo(Lsn lsn)
    {
        lock (_lock)
        {
            if (lsn > _stored)
            {
                _stored = lsn;
            }

            while (_marks.First is { } first && first.Value.Lsn <= _stored)
            {
                _marks.RemoveFirst();
            }
        }
    }

    /// <summary>Starts over at a new connection: the stored position is kept, the server's is relearned.</summary>
    public void Reset(Lsn stored)
    {
        lock (_lock)
        {
            _marks.Clear();
            _stored = stored;
            _server = stored;
        }
    }

    /// <summary>How long the oldest unstored WAL has been known; zero when nothing is waiting.</summary>
    public TimeSpan Lag
    {
        get
        {
            var now = time.GetUtcNow();
            lock (_lock)
            {
                return _marks.First is { } first ? now - first.Value.Seen : TimeSpan.Zero;
            }
        }
    }
}
