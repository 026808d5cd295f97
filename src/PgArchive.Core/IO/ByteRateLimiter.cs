namespace PgArchive.IO;

/// <summary>
/// One budget of bytes per second that every stream drawing on it shares (WAL-G's <c>WALG_DISK_RATE_LIMIT</c> and
/// <c>WALG_NETWORK_RATE_LIMIT</c>): parallel workers together stay under the rate, not each of them. A token bucket that
/// holds at most <see cref="MaxChunk"/> bytes (a twentieth of a second at the rate, at least 64 KiB) and may go into
/// debt: a taker subtracts what it takes at once and waits until the rate has paid the debt back, so takers are served
/// in the order they came, whatever their sizes, and the long-run rate is exact.
/// </summary>
/// <remarks>
/// Hand-written rather than System.Threading.RateLimiting's TokenBucketRateLimiter: that one reads the system clock
/// even when refilled by hand, so its pace cannot be driven by a <see cref="TimeProvider"/> in tests, and its queue
/// needs a permit limit per call that a debt does not.
/// </remarks>
internal sealed class ByteRateLimiter
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private double _tokens;
    private long _lastRefill;

    /// <summary>Creates a limiter of <paramref name="bytesPerSecond"/>, its bucket full.</summary>
    public ByteRateLimiter(long bytesPerSecond, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1);
        BytesPerSecond = bytesPerSecond;
        _time = timeProvider ?? TimeProvider.System;
        MaxChunk = (int)Math.Clamp(bytesPerSecond / 20, 64 << 10, 64 << 20);
        _tokens = MaxChunk;
        _lastRefill = _time.GetTimestamp();
    }

    /// <summary>The rate, in bytes per second.</summary>
    public long BytesPerSecond { get; }

    /// <summary>The most the bucket holds, and the most one read through a limited stream takes at once.</summary>
    public int MaxChunk { get; }

    /// <summary>Bytes that may pass at once right now (negative: the debt still to be paid back).</summary>
    public long Available
    {
        get
        {
            lock (_lock)
            {
                Refill();
                return (long)Math.Floor(_tokens);
            }
        }
    }

    /// <summary>Takes <paramref name="bytes"/> from the budget and waits until the rate has paid back any debt.</summary>
    public Task TakeAsync(long bytes, CancellationToken cancellationToken)
    {
        var wait = Debit(bytes);
        return wait <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(wait, _time, cancellationToken);
    }

    /// <summary>Takes <paramref name="bytes"/> from the budget and blocks until the rate has paid back any debt.</summary>
    public void Take(long bytes) => TakeAsync(bytes, CancellationToken.None).GetAwaiter().GetResult();

    private TimeSpan Debit(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0)
        {
            return TimeSpan.Zero;
        }

        lock (_lock)
        {
            Refill();
            _tokens -= bytes;
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / BytesPerSecond);
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        _tokens = Math.Min(MaxChunk, _tokens + (_time.GetElapsedTime(_lastRefill, now).TotalSeconds * BytesPerSecond));
        _lastRefill = now;
    }
}
