using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using PgArchive.Diagnostics;

namespace PgArchive.Storage;

/// <summary>
/// Retries store operations that failed transiently (<see cref="ObjectStoreException.IsTransient"/>), with
/// exponential backoff (<see cref="PgArchiveOptions.StoreRetries"/>, <see cref="PgArchiveOptions.StoreRetryDelay"/>).
/// Registered by <c>AddPgArchive</c> in front of whatever store is configured, for every PgArchive service;
/// it passes calls straight through to a store that retries itself (<see cref="ISelfRetryingObjectStore"/>).
/// </summary>
/// <remarks>
/// Only operations that are safe to repeat are repeated: info, delete (idempotent), list (resumed after the last
/// key yielded: keys come in ordinal order), open-for-read (a stream that fails part-way is re-opened at the byte
/// it reached, objects being immutable) and puts of seekable content (rewound). A put of a stream that cannot be
/// rewound is not retried here: its producer re-runs it (BackupPusher per tar partition, WalArchiver per WAL file).
/// </remarks>
public sealed class RetryingObjectStore : IObjectStore, IObjectCopier
{
    private readonly IObjectStore _inner;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;
    private readonly int _retries;
    private readonly TimeSpan _retryDelay;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public RetryingObjectStore(IObjectStore inner, IOptions<PgArchiveOptions> options, TimeProvider? timeProvider = null, ILogger<RetryingObjectStore>? logger = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger ?? NullLogger<RetryingObjectStore>.Instance;
        _retries = StoreRetry.Applies(inner) ? options.Value.StoreRetries : 0;
        _retryDelay = options.Value.StoreRetryDelay;
        _pipeline = StoreRetry.Build(options.Value, timeProvider ?? TimeProvider.System, _logger, inner);
    }

    /// <summary>The store the operations go to.</summary>
    public IObjectStore Inner => _inner;

    /// <inheritdoc />
    public async Task PutAsync(string key, Stream content, PutMode mode = PutMode.Overwrite, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!content.CanSeek)
        {
            await _inner.PutAsync(key, content, mode, cancellationToken).ConfigureAwait(false);
            return;
        }

        var start = content.Position;
        var attempt = 0;
        await _pipeline.ExecuteAsync(async ct =>
        {
            if (attempt++ > 0)
            {
                // A create-only put whose acknowledgement was lost now finds its own object: AlreadyExists goes to
                // the caller, which compares contents (WalArchiver does).
                content.Position = start;
            }

            await _inner.PutAsync(key, content, mode, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        var stream = await _pipeline.ExecuteAsync(
            async ct => await _inner.OpenReadAsync(key, range, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (_retries == 0)
        {
            return stream;
        }

        // A read that breaks off part-way opens the rest from the byte it reached (objects are immutable), with the
        // same backoff and at most StoreRetries times per read, then fails as the store being unavailable.
        return new ResumingDownloadStream(stream, length: null, _retries, _retryDelay,
            async (position, ct) => await _inner.OpenReadAsync(key, Rest(range, position), ct).ConfigureAwait(false),
            (failure, position) => new ObjectStoreException(ObjectStoreErrorKind.Unavailable, key,
                $"Cannot read '{key}': it broke off after {position} bytes, also after {_retries} resumed attempts ({failure.Message}).", failure),
            (position, failure) => Log.ReadResumed(_logger, key, position, failure.Message));
    }

    private static ByteRange Rest(ByteRange? range, long position) =>
        new((range?.Offset ?? 0) + position, range?.Length is { } length ? length - position : null);

    /// <inheritdoc />
    public async Task<ObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken = default) =>
        await _pipeline.ExecuteAsync(async ct => await _inner.GetInfoAsync(key, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? last = null;
        IAsyncEnumerator<ObjectInfo>? enumerator = null;
        try
        {
            while (true)
            {
                var next = await _pipeline.ExecuteAsync(async ct =>
                {
                    enumerator ??= _inner.ListAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
                    try
                    {
                        while (await enumerator.MoveNextAsync().ConfigureAwait(false))
                        {
                            if (last is null || string.CompareOrdinal(enumerator.Current.Key, last) > 0)
                            {
                                return enumerator.Current;
                            }
                        }

                        return null;
                    }
                    catch (ObjectStoreException ex) when (ex.IsTransient)
                    {
                        // Start the listing again; what was already yielded is skipped.
                        var failed = enumerator;
                        enumerator = null;
                        await failed.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }, cancellationToken).ConfigureAwait(false);
                if (next is null)
                {
                    yield break;
                }

                last = next.Key;
                yield return next;
            }
        }
        finally
        {
            if (enumerator is not null)
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.ToList();
        await _pipeline.ExecuteAsync(async ct => await _inner.DeleteAsync(list, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public bool CanCopy => _inner is IObjectCopier { CanCopy: true };

    /// <inheritdoc />
    /// <remarks>A copy is repeated whole after a transient failure: it replaces the destination, so repeating it is safe.</remarks>
    public async Task CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        var copier = _inner as IObjectCopier is { CanCopy: true } c ? c : throw new NotSupportedException("The store cannot copy objects.");
        await _pipeline.ExecuteAsync(async ct => await copier.CopyAsync(sourceKey, destinationKey, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }
}
