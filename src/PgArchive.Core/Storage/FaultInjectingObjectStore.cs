using System.Runtime.CompilerServices;

namespace PgArchive.Storage;

/// <summary>
/// A decorator that makes any <see cref="IObjectStore"/> misbehave as real storage does, for tests: on a chosen
/// fraction of calls (picked by a seeded <see cref="Random"/>) it fails transiently before the call, resets the
/// connection part-way through a put or a read, reports a failure after a put that did succeed (a lost
/// acknowledgement), or adds latency; streams it returns may deliver short reads. In <see cref="FaultInjectionOptions.Permanent"/>
/// mode every selected call fails. Faults never corrupt what is stored: a put either stores all of its content or nothing
/// (except a lost acknowledgement, which stores everything and still throws).
/// </summary>
public sealed class FaultInjectingObjectStore : IObjectStore, IObjectCopier
{
    private readonly IObjectStore _inner;
    private readonly FaultInjectionOptions _options;
    private readonly Random _random;
    private readonly Lock _lock = new();
    private int _injected;
    private int _selected;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public FaultInjectingObjectStore(IObjectStore inner, FaultInjectionOptions options)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.FailureRate, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.FailureRate, 1.0, nameof(options));
        _random = new Random(options.Seed);
    }

    /// <summary>The store being disturbed.</summary>
    public IObjectStore Inner => _inner;

    /// <summary>How many failures were injected so far (latency and short reads not counted).</summary>
    public int InjectedFaults => Volatile.Read(ref _injected);

    private enum Fault
    {
        None,
        Latency,
        Error,
        Reset,
        LostAcknowledgement,
    }

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var fault = await DrawAsync(FaultOperations.Put, key, cancellationToken).ConfigureAwait(false);
        switch (fault)
        {
            case Fault.Reset:
                // Consume part of the content, as a connection that dies mid-upload does, and store nothing.
                var buffer = new byte[Next(1, 64 << 10)];
                _ = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                throw Transient(key, "the connection was reset during the upload");
            case Fault.LostAcknowledgement:
                await _inner.PutAsync(key, content, mode, cancellationToken).ConfigureAwait(false);
                throw Transient(key, "the upload's acknowledgement was lost");
            default:
                await _inner.PutAsync(key, content, mode, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        var fault = await DrawAsync(FaultOperations.Read, key, cancellationToken).ConfigureAwait(false);
        var stream = await _inner.OpenReadAsync(key, range, cancellationToken).ConfigureAwait(false);
        var resetAfter = fault == Fault.Reset ? Next(0, 256 << 10) : -1L;
        int seed;
        lock (_lock)
        {
            seed = _random.Next();
        }

        return fault == Fault.Reset || _options.ShortReads ? new FaultyReadStream(stream, key, resetAfter, _options.ShortReads, seed) : stream;
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        _ = await DrawAsync(FaultOperations.Info, key, cancellationToken).ConfigureAwait(false);
        return await _inner.GetInfoAsync(key, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var fault = await DrawAsync(FaultOperations.List, prefix, cancellationToken).ConfigureAwait(false);
        var failAfter = fault == Fault.Reset ? Next(0, 16) : -1L;
        long yielded = 0;
        await foreach (var info in _inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (yielded++ == failAfter)
            {
                throw Transient(prefix, "the connection was reset while listing");
            }

            yield return info;
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.ToList();
        var fault = await DrawAsync(FaultOperations.Delete, list.Count > 0 ? list[0] : "", cancellationToken).ConfigureAwait(false);
        await _inner.DeleteAsync(list, cancellationToken).ConfigureAwait(false);
        if (fault == Fault.LostAcknowledgement)
        {
            throw Transient(list.Count > 0 ? list[0] : null, "the delete's acknowledgement was lost");
        }
    }

    /// <inheritdoc />
    public bool CanCopy => _inner is IObjectCopier { CanCopy: true };

    /// <inheritdoc />
    /// <remarks>Disturbed as a put of <paramref name="destinationKey"/> (an error before the copy, or a lost acknowledgement after it).</remarks>
    public async Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        var copier = _inner as IObjectCopier is { CanCopy: true } c ? c : throw new NotSupportedException("The store cannot copy objects.");
        var fault = await DrawAsync(FaultOperations.Put, destinationKey, cancellationToken).ConfigureAwait(false);
        await copier.CopyAsync(sourceKey, destinationKey, cancellationToken).ConfigureAwait(false);
        if (fault is Fault.Reset or Fault.LostAcknowledgement)
        {
            throw Transient(destinationKey, "the copy's acknowledgement was lost");
        }
    }

    private async Task<Fault> DrawAsync(FaultOperations operation, string key, CancellationToken cancellationToken)
    {
        if ((_options.Operations & operation) == 0 || (_options.KeyFilter is { } filter && !filter(key)))
        {
            return Fault.None;
        }

        if (_options.Permanent && Interlocked.Increment(ref _selected) > _options.PermanentAfter)
        {
            Interlocked.Increment(ref _injected);
            throw new ObjectStoreException(_options.PermanentErrorKind, key, $"Injected permanent fault: '{key}' cannot be reached.");
        }

        if (_options.Permanent)
        {
            return Fault.None; // one of the first PermanentAfter calls: it succeeds
        }

        Fault fault;
        TimeSpan latency;
        lock (_lock)
        {
            latency = TimeSpan.FromTicks((long)(_random.NextDouble() * _options.MaxLatency.Ticks));
            if (_random.NextDouble() >= _options.FailureRate)
            {
                // One call in ten of the healthy ones is slow.
                fault = _random.Next(10) == 0 ? Fault.Latency : Fault.None;
            }
            else
            {
                fault = operation switch
                {
                    FaultOperations.Put => (Fault)_random.Next((int)Fault.Error, (int)Fault.LostAcknowledgement + 1),
                    FaultOperations.Read or FaultOperations.List => (Fault)_random.Next((int)Fault.Error, (int)Fault.Reset + 1),
                    FaultOperations.Delete => _random.Next(2) == 0 ? Fault.Error : Fault.LostAcknowledgement,
                    _ => Fault.Error,
                };
            }
        }

        if (fault is Fault.None or Fault.Latency)
        {
            if (fault == Fault.Latency && latency > TimeSpan.Zero)
            {
                await Task.Delay(latency, cancellationToken).ConfigureAwait(false);
            }

            return Fault.None;
        }

        Interlocked.Increment(ref _injected);
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, cancellationToken).ConfigureAwait(false);
        }

        return fault == Fault.Error ? throw Transient(key, "the service is unavailable") : fault;
    }

    private long Next(long min, long max)
    {
        lock (_lock)
        {
            return _random.NextInt64(min, max);
        }
    }

    private int Next(int min, int max)
    {
        lock (_lock)
        {
            return _random.Next(min, max);
        }
    }

    private static ObjectStoreException Transient(string? key, string what) =>
        new(ObjectStoreErrorKind.Unavailable, key, $"Injected transient fault on '{key}': {what}.", new IOException(what));

    /// <summary>A read stream that delivers short reads and may die part-way, as a reset connection does.</summary>
    private sealed class FaultyReadStream(Stream inner, string key, long resetAfter, bool shortReads, int seed) : IO.ReadOnlyWrapperStream(inner)
    {
        private readonly Random _random = new(seed);
        private long _position;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            var n = Inner.Read(buffer[..Limit(buffer.Length)]);
            return Count(n);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await Inner.ReadAsync(buffer[..Limit(buffer.Length)], cancellationToken).ConfigureAwait(false);
            return Count(n);
        }

        private int Limit(int length)
        {
            if (resetAfter >= 0 && _position >= resetAfter)
            {
                throw Transient(key, $"the connection was reset after {_position} bytes of the download");
            }

            var limit = length;
            if (resetAfter >= 0)
            {
                limit = (int)Math.Min(limit, Math.Max(1, resetAfter - _position));
            }

            if (shortReads && limit > 1 && _random.Next(4) == 0)
            {
                limit = _random.Next(1, limit);
            }

            return limit;
        }

        private int Count(int n)
        {
            _position += n;
            return n;
        }
    }
}
