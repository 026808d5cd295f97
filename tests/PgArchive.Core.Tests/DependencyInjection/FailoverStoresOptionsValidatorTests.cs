using Microsoft.Extensions.Options;
using PgArchive.Storage;
using PgArchive.Testing;

namespace PgArchive.DependencyInjection;

public sealed class FailoverStoresOptionsValidatorTests : OptionsValidatorContract<FailoverStoresOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "Policy", "FailoverStorages:Policy (PGARCHIVE_FAILOVER_STORAGES_POLICY) must be all or first-alive, not 7." },
        { "CheckTimeout", "FailoverStorages:CheckTimeout (WALG_FAILOVER_STORAGES_CHECK_TIMEOUT) must be positive; it is 00:00:00." },
        { "CheckSize", "FailoverStorages:CheckSize (WALG_FAILOVER_STORAGES_CHECK_SIZE) must be between 0 and 64 MiB (67108864); it is 67108865." },
        { "CacheLifetime", "FailoverStorages:CacheLifetime (WALG_FAILOVER_STORAGES_CACHE_LIFETIME) must not be negative; it is -00:00:01." },
        { "AutoCatchUpLimit", "FailoverStorages:AutoCatchUpLimit must not be negative; it is -1." },
        { "EmaAliveLimit", "FailoverStorages:EmaAliveLimit (WALG_FAILOVER_STORAGES_CACHE_EMA_ALIVE_LIMIT) must be between 0 and 1, exclusive; it is 1." },
        { "EmaDeadLimit", "FailoverStorages:EmaDeadLimit (WALG_FAILOVER_STORAGES_CACHE_EMA_DEAD_LIMIT) must be between 0 and 1, exclusive; it is 0." },
        { "EmaAlphaAliveMax", "FailoverStorages:EmaAlphaAliveMax (WALG_FAILOVER_STORAGES_CACHE_EMA_ALPHA_ALIVE_MAX) must be between 0 and 1, exclusive; it is 1.5." },
        { "EmaAlphaAliveMin", "FailoverStorages:EmaAlphaAliveMin (WALG_FAILOVER_STORAGES_CACHE_EMA_ALPHA_ALIVE_MIN) must be between 0 and 1, exclusive; it is -0.1." },
        { "EmaAlphaDeadMax", "FailoverStorages:EmaAlphaDeadMax (WALG_FAILOVER_STORAGES_CACHE_EMA_ALPHA_DEAD_MAX) must be between 0 and 1, exclusive; it is 1." },
        { "EmaAlphaDeadMin", "FailoverStorages:EmaAlphaDeadMin (WALG_FAILOVER_STORAGES_CACHE_EMA_ALPHA_DEAD_MIN) must be between 0 and 1, exclusive; it is 0." },
        { "Limits in order", "FailoverStorages:EmaAliveLimit (0.8) must not be below FailoverStorages:EmaDeadLimit (0.88)." },
        { "Alive alphas in order", "FailoverStorages:EmaAlphaAliveMin (0.06) must not be above FailoverStorages:EmaAlphaAliveMax (0.05)." },
        { "Dead alphas in order", "FailoverStorages:EmaAlphaDeadMin (0.6) must not be above FailoverStorages:EmaAlphaDeadMax (0.5)." },
    };

    protected override IValidateOptions<FailoverStoresOptions> Validator { get; } = new FailoverStoresOptionsValidator();

    protected override FailoverStoresOptions Valid() => new();

    protected override void Break(string rule, FailoverStoresOptions options)
    {
        switch (rule)
        {
            case "Policy": options.Policy = (FailoverWritePolicy)7; break;
            case "CheckTimeout": options.CheckTimeout = TimeSpan.Zero; break;
            case "CheckSize": options.CheckSize = (64L << 20) + 1; break;
            case "CacheLifetime": options.CacheLifetime = TimeSpan.FromSeconds(-1); break;
            case "AutoCatchUpLimit": options.AutoCatchUpLimit = -1; break;
            case "EmaAliveLimit": options.EmaAliveLimit = 1; break;
            case "EmaDeadLimit": options.EmaDeadLimit = 0; options.EmaAliveLimit = 0.99; break;
            case "EmaAlphaAliveMax": options.EmaAlphaAliveMax = 1.5; break;
            case "EmaAlphaAliveMin": options.EmaAlphaAliveMin = -0.1; break;
            case "EmaAlphaDeadMax": options.EmaAlphaDeadMax = 1; break;
            case "EmaAlphaDeadMin": options.EmaAlphaDeadMin = 0; break;
            case "Limits in order": options.EmaAliveLimit = 0.8; break;
            case "Alive alphas in order": options.EmaAlphaAliveMin = 0.06; break;
            case "Dead alphas in order": options.EmaAlphaDeadMin = 0.6; break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }
}
