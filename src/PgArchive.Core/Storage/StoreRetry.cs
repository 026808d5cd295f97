using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using PgArchive.Diagnostics;

namespace PgArchive.Storage;

/// <summary>The one retry policy for object store operations: transient <see cref="ObjectStoreException"/>s only, exponential backoff with jitter.</summary>
internal static class StoreRetry
{
    /// <summary>Whether PgArchive retries calls to <paramref name="store"/> (not when the store, under any retry layer, retries itself).</summary>
    public static bool Applies(IObjectStore store)
    {
        var inner = store is RetryingObjectStore retrying ? retrying.Inner : store;
        return (inner is RateLimitedObjectStore limited ? limited.Inner : inner) is not ISelfRetryingObjectStore;
    }

    public static ResiliencePipeline Build(PgArchiveOptions options, TimeProvider time, ILogger logger, IObjectStore? store = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.StoreRetries, "PgArchive:StoreRetries");
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.StoreRetries > 0 && (store is null || Applies(store)))
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<ObjectStoreException>(e => e.IsTransient),
                MaxRetryAttempts = options.StoreRetries,
                Delay = options.StoreRetryDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    Log.StoreRetrying(logger, args.AttemptNumber + 1, options.StoreRetries, args.RetryDelay.TotalSeconds, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            });
        }

        return builder.Build();
    }
}
