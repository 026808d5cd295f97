using Microsoft.Extensions.Options;
using PgArchive.Storage;

namespace PgArchive.DependencyInjection;

/// <summary>Checks <see cref="FailoverStoresOptions"/> at start-up, every rule, all failures together.</summary>
internal sealed class FailoverStoresOptionsValidator : IValidateOptions<FailoverStoresOptions>
{
    public ValidateOptionsResult Validate(string? name, FailoverStoresOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Policy))
        {
            failures.Add($"FailoverStorages:Policy (PGARCHIVE_FAILOVER_STORAGES_POLICY) must be all or first-alive, not {options.Policy}.");
        }

        if (options.CheckTimeout <= TimeSpan.Zero)
        {
            failures.Add($"FailoverStorages:CheckTimeout (WALG_FAILOVER_STORAGES_CHECK_TIMEOUT) must be positive; it is {options.CheckTimeout}.");
        }

        if (options.CheckSize is < 0 or > 64L << 20)
        {
            failures.Add($"FailoverStorages:CheckSize (WALG_FAILOVER_STORAGES_CHECK_SIZE) must be between 0 and 64 MiB (67108864); it is {options.CheckSize}.");
        }

        if (options.CacheLifetime < TimeSpan.Zero)
        {
            failures.Add($"FailoverStorages:CacheLifetime (WALG_FAILOVER_STORAGES_CACHE_LIFETIME) must not be negative; it is {options.CacheLifetime}.");
        }

        if (options.AutoCatchUpLimit < 0)
        {
            failures.Add($"FailoverStorages:AutoCatchUpLimit must not be negative; it is {options.AutoCatchUpLimit}.");
        }

        Between0And1(failures, "EmaAliveLimit", "ALIVE_LIMIT", options.EmaAliveLimit);
        Between0And1(failures, "EmaDeadLimit", "DEAD_LIMIT", options.EmaDeadLimit);
        Between0And1(failures, "EmaAlphaAliveMax", "ALPHA_ALIVE_MAX", options.EmaAlphaAliveMax);
        Between0And1(failures, "EmaAlphaAliveMin", "ALPHA_ALIVE_MIN", options.EmaAlphaAliveMin);
        Between0And1(failures, "EmaAlphaDeadMax", "ALPHA_DEAD_MAX", options.EmaAlphaDeadMax);
        Between0And1(failures, "EmaAlphaDeadMin", "ALPHA_DEAD_MIN", options.EmaAlphaDeadMin);
        if (options.EmaAliveLimit < options.EmaDeadLimit)
        {
            failures.Add($"FailoverStorages:EmaAliveLimit ({options.EmaAliveLimit}) must not be below FailoverStorages:EmaDeadLimit ({options.EmaDeadLimit}).");
        }

        if (options.EmaAlphaAliveMin > options.EmaAlphaAliveMax)
        {
            failures.Add($"FailoverStorages:EmaAlphaAliveMin ({options.EmaAlphaAliveMin}) must not be above FailoverStorages:EmaAlphaAliveMax ({options.EmaAlphaAliveMax}).");
        }

        if (options.EmaAlphaDeadMin > options.EmaAlphaDeadMax)
        {
            failures.Add($"FailoverStorages:EmaAlphaDeadMin ({options.EmaAlphaDeadMin}) must not be above FailoverStorages:EmaAlphaDeadMax ({options.EmaAlphaDeadMax}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Between0And1(List<string> failures, string property, string variable, double value)
    {
        if (value is <= 0 or >= 1 || double.IsNaN(value))
        {
            failures.Add($"FailoverStorages:{property} (WALG_FAILOVER_STORAGES_CACHE_EMA_{variable}) must be between 0 and 1, exclusive; it is {value}.");
        }
    }
}
