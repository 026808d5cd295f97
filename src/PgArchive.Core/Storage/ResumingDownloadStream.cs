namespace PgArchive.Storage;

/// <summary>
/// A download that, when its connection breaks off part-way, asks for the rest from the byte it reached. The stores
/// that retry themselves (<see cref="ISelfRetryingObjectStore"/>: their SDKs retry requests, not the reading of a body)
/// wrap their reads in it with a <c>reopen</c> that makes the ranged request conditional on the version first read
/// (ETag, generation), so that a replaced object is never stitched together; <see cref="RetryingObjectStore"/> wraps
/// the reads of the other stores, whose objects are never replaced. At most <c>maxRetries</c> resumes per stream, with
/// exponential backoff and jitter that start again once bytes flow; then the failure is the store's
/// <see cref="ObjectStoreException"/>, never a raw <see cref="IOException"/>.
/// </summary>
internal sealed class ResumingDownloadStream : Stream
{
    private readonly long? _length;
    private readonly int _maxRetries;
    private readonly TimeSpan _retryDelay;
    private readonly Func<long, CancellationToken, Task<Stream>> _reopen;
    private readonly Func<Exception, long, Exception> _giveUp;
    private readonly Action<long, Exception>? _resumed;
    private Stream _inner;
    private long _position;
    private int _failures;
    private int _failuresInARow;

    /// <summary>Wraps the body of the first response.</summary>
    /// <param name="first">The body as first opened.</param>
    /// <param name="length">How many bytes the whole read has, when known: an end before it counts as a break.</param>
    /// <param name="maxRetries">How many times one stream may resume.</param>
    /// <param name="retryDelay">The first backoff (doubling while no byte gets through, up to 30 s, with jitter).</param>
    /// <param name="reopen">Opens the rest from this many bytes into the read, conditional on the same object version;
    /// throws an <see cref="ObjectStoreException"/> (transient ones are retried) or an I/O error (retried).</param>
    /// <param name="giveUp">The exception to throw once the retries are spent (given the last failure and the bytes read).</param>
    /// <param name="resumed">Called before each resume (bytes read, failure): the store logs it.</param>
    public ResumingDownloadStream(Stream first, long? length, int maxRetries, TimeSpan retryDelay,
        Func<long, CancellationToken, Task<Stream>> reopen, Func<Exception, long, Exception> giveUp, Action<long, Exception>? resumed = null)
    {
        _inner = first ?? throw new ArgumentNullException(nameof(first));
        _length = length;
        _maxRetries = Math.Max(0, maxRetries);
        _retryDelay = retryDelay > TimeSpan.Zero ? retryDelay : TimeSpan.FromMilliseconds(1);
        _reopen = reopen ?? throw new ArgumentNullException(nameof(reopen));
        _giveUp = giveUp ?? throw new ArgumentNullException(nameof(giveUp));
        _resumed = resumed;
    }

    /// <summary>How many times this stream resumed.</summary>
    public int Resumes { get; private set; }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => _length ?? throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Exception failure;
            try
            {
                var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0 && buffer.Length > 0 && _position < _length)
                {
                    throw new IOException($"The download ended after {_position} of {_length} bytes.");
                }

                _position += n;
                if (n > 0)
                {
                    _failuresInARow = 0;
                }

                return n;
            }
            catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                failure = ex;
            }

            await ResumeAsync(failure, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ResumeAsync(Exception failure, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_failures++ >= _maxRetries)
            {
                throw _giveUp(failure, _position);
            }

            _resumed?.Invoke(_position, failure);
            var backoff = Math.Min(30_000, _retryDelay.TotalMilliseconds * Math.Pow(2, _failuresInARow++));
            await Task.Delay(TimeSpan.FromMilliseconds(backoff * (0.5 + Random.Shared.NextDouble() / 2)), cancellationToken).ConfigureAwait(false);
            Stream next;
            try
            {
                next = await _reopen(_position, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                failure = ex;
                continue;
            }

            await _inner.DisposeAsync().ConfigureAwait(false);
            _inner = next;
            Resumes++;
            return;
        }
    }

    private static bool IsTransient(Exception ex) =>
        ex is IOException or HttpRequestException or ObjectStoreException { IsTransient: true };

    /// <inheritdoc />
    public override void Flush() { }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
