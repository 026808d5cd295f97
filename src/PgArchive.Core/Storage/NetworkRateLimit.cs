using Microsoft.Extensions.Options;
using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>The process's one network budget (<see cref="PgArchiveOptions.NetworkRateLimit"/>), shared by every store call.</summary>
internal sealed class NetworkRateLimit(IOptions<PgArchiveOptions> options, TimeProvider? timeProvider = null)
{
    private readonly ByteRateLimiter? _limiter = options.Value.NetworkRateLimit is { } rate ? new ByteRateLimiter(rate, timeProvider) : null;

    /// <summary><paramref name="store"/> held to the budget, or as it is when there is none.</summary>
    public IObjectStore Over(IObjectStore store) => _limiter is null ? store : new RateLimitedObjectStore(store, _limiter);
}
