using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgArchive.Cli.Storage;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace PgArchive.Cli.Configuration;

/// <summary>
/// WAL-G's failover storages: <c>WALG_FAILOVER_STORAGES</c>, a JSON object of storage name → that storage's settings
/// (its prefix variable and credentials, as at the root), the root's storage being the primary, named <c>default</c>;
/// the others follow in the lexicographic order of their names, as WAL-G orders them. With
/// <c>WALG_FAILOVER_STORAGES_CHECK*</c>, <c>WALG_FAILOVER_STORAGES_CACHE_*</c> and PgArchive's
/// <c>PGARCHIVE_FAILOVER_STORAGES_POLICY</c> (<c>first-alive</c>, WAL-G's behaviour and the default, or <c>all</c>).
/// </summary>
internal static class FailoverSettings
{
    public const string Variable = "WALG_FAILOVER_STORAGES";

    /// <summary>Adds the failover stores when <c>WALG_FAILOVER_STORAGES</c> is set; each one's services are disposed with the archive's.</summary>
    public static void Configure(IPgArchiveBuilder builder, WalgSettings settings, LogLevel logLevel)
    {
        if (settings.Get(Variable) is not { } json)
        {
            return;
        }

        var storages = Parse(json);
        Apply(settings, new FailoverStoresOptions()); // a malformed value fails here, before any store is built
        var providers = new List<ServiceProvider>();
        var stores = new List<FailoverStore>();
        try
        {
            foreach (var (name, values) in storages.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                var own = WalgSettings.FromValues(values);
                ServiceProvider provider;
                try
                {
                    provider = CliHost.Build(own, logLevel);
                }
                catch (PgArchiveConfigurationException ex)
                {
                    throw new PgArchiveConfigurationException($"{Variable}: storage '{name}': {ex.Message}", ex);
                }

                providers.Add(provider);
                stores.Add(new FailoverStore(name, provider.GetRequiredService<IObjectStore>(), StorageBackends.Location(own)));
            }
        }
        catch
        {
            foreach (var provider in providers)
            {
                provider.Dispose();
            }

            throw;
        }

        // Created by the container (so disposed with it) when the first failover store is resolved.
        builder.Services.AddSingleton(_ => new FailoverServiceProviders(providers));
        foreach (var store in stores)
        {
            builder.AddFailoverStore(store.Name, sp =>
            {
                _ = sp.GetRequiredService<FailoverServiceProviders>();
                return store.Store;
            });
        }

        builder.UseFailoverStores(o => Apply(settings, o));
    }

    /// <summary>The storages of <c>WALG_FAILOVER_STORAGES</c>: name → settings; a malformed value is one error naming the variable.</summary>
    public static Dictionary<string, Dictionary<string, string>> Parse(string json)
    {
        const string Shape = """a JSON object of storage name → settings, e.g. {"second": {"WALG_FILE_PREFIX": "/backups2"}}""";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new PgArchiveConfigurationException(
                $"{Variable} is not valid JSON (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}): it must be {Shape}.", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new PgArchiveConfigurationException($"{Variable} must be {Shape}, not a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}.");
            }

            var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
            foreach (var storage in document.RootElement.EnumerateObject())
            {
                if (storage.Name.Length == 0 || storage.Name == FailoverStoresOptions.PrimaryName)
                {
                    throw new PgArchiveConfigurationException($"{Variable}: '{storage.Name}' cannot name a failover storage ('{FailoverStoresOptions.PrimaryName}' is the primary, configured at the root).");
                }

                if (storage.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new PgArchiveConfigurationException($"{Variable}: storage '{storage.Name}' must be a JSON object of settings, not a JSON {storage.Value.ValueKind.ToString().ToLowerInvariant()}.");
                }

                var values = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var setting in storage.Value.EnumerateObject())
                {
                    values[setting.Name] = setting.Value.ValueKind switch
                    {
                        JsonValueKind.String => setting.Value.GetString()!,
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => setting.Value.GetRawText(),
                        _ => throw new PgArchiveConfigurationException($"{Variable}: storage '{storage.Name}': setting {setting.Name} must be a string, number or boolean."),
                    };
                }

                if (!result.TryAdd(storage.Name, values))
                {
                    throw new PgArchiveConfigurationException($"{Variable}: storage '{storage.Name}' is configured twice.");
                }
            }

            return result.Count > 0 ? result : throw new PgArchiveConfigurationException($"{Variable} names no storage: it must be {Shape}.");
        }
    }

    /// <summary>Sets <paramref name="options"/> from WAL-G's variables and PGARCHIVE_FAILOVER_STORAGES_POLICY (and _CACHE_FILE).</summary>
    public static void Apply(WalgSettings settings, FailoverStoresOptions options)
    {
        options.Policy = settings.Get("PGARCHIVE_FAILOVER_STORAGES_POLICY")?.ToLowerInvariant() switch
        {
            null => options.Policy,
            "first-alive" => FailoverWritePolicy.FirstAlive,
            "all" => FailoverWritePolicy.All,
            var other => throw new PgArchiveConfigurationException($"PGARCHIVE_FAILOVER_STORAGES_POLICY must be first-alive or all, not '{other}'."),
        };
        options.Check = settings.GetBoolean("WALG_FAILOVER_STORAGES_CHECK") ?? options.Check;
        options.CheckTimeout = Duration(settings, "WALG_FAILOVER_STORAGES_CHECK_TIMEOUT") ?? options.CheckTimeout;
        options.CheckSize = Size(settings, "WALG_FAILOVER_STORAGES_CHECK_SIZE") ?? options.CheckSize;
        options.CacheLifetime = Duration(settings, "WALG_FAILOVER_STORAGES_CACHE_LIFETIME") ?? options.CacheLifetime;
        options.EmaAliveLimit = Fraction(settings, "WALG_FAILOVER_STORAGES_CACHE_EMA_ALIVE_LIMIT") ?? options.EmaAliveLimit;
        options.EmaDeadLimit = Fraction(settings, "WALG_FAILOVER_STORAGES_CACHE_EMA_DEAD_LIMIT") ?? options.EmaDeadLimit;
        options.EmaAlphaAliveMax = Fraction(settings, "WALG_FAILOVER_STORAGES_CACHE_EMA_ALPHA_ALIVE_MAX") ?? options.EmaAlphaAliveMax;
        options.EmaAlphaAliveMin = Fraction(settings, "WALG_FAILOVER_STORAGES_CACHE_EMA_ALPHA_ALIVE_MIN") ?? options.EmaAlphaAliveMin;
        options.EmaAlphaDeadMax = Fraction(settings, "WALG_FAILOVER_STORAGES_CACHE_EMA_ALPHA_DEAD_MAX") ?? options.EmaAlphaDeadMax;
        options.EmaAlphaDeadMin = Fraction(settings, "WALG_FAILOVER_STORAGES_CACHE_EMA_ALPHA_DEAD_MIN") ?? options.EmaAlphaDeadMin;
        if (settings.Get("PGARCHIVE_FAILOVER_STORAGES_CACHE_FILE") is { } file)
        {
            options.CacheFile = file;
        }
    }

    private static TimeSpan? Duration(WalgSettings settings, string name) => SettingText.Duration(settings.Get(name), name);

    private static long? Size(WalgSettings settings, string name) => SettingText.Size(settings.Get(name), name);

    private static double? Fraction(WalgSettings settings, string name) =>
        settings.Get(name) is not { } text ? null
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value
            : throw new PgArchiveConfigurationException($"{name} must be a number between 0 and 1, not '{text}'.");
}

/// <summary>The service providers the failover stores were built in, disposed with the archive's.</summary>
internal sealed class FailoverServiceProviders(IReadOnlyList<ServiceProvider> providers) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        foreach (var provider in providers)
        {
            await provider.DisposeAsync().ConfigureAwait(false);
        }
    }
}
