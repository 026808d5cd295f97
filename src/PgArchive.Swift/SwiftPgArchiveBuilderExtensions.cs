using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Stores the archive in an OpenStack Swift container.</summary>
public static class SwiftPgArchiveBuilderExtensions
{
    /// <summary>Stores the archive in the Swift container configured by <paramref name="configure"/>.</summary>
    public static IPgArchiveBuilder UseSwift(this IPgArchiveBuilder builder, Action<SwiftObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SwiftObjectStoreOptions>().Configure(configure);
        return builder.UseSwift();
    }

    /// <summary>Stores the archive in the Swift container configured by <paramref name="section"/> (e.g. <c>PgArchive:Swift</c>); unknown keys are an error.</summary>
    public static IPgArchiveBuilder UseSwift(this IPgArchiveBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<SwiftObjectStoreOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder.UseSwift();
    }

    /// <summary>
    /// Stores the archive in the Swift container configured by <paramref name="configure"/>, speaking through the
    /// caller's own <paramref name="httpClient"/> (its handler, proxy and certificates); the caller keeps ownership of it.
    /// </summary>
    public static IPgArchiveBuilder UseSwift(this IPgArchiveBuilder builder, HttpClient httpClient, Action<SwiftObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SwiftObjectStoreOptions>().Configure(configure);
        return builder.AddSwiftStore(sp => new SwiftObjectStore(
            sp.GetRequiredService<IOptions<SwiftObjectStoreOptions>>().Value,
            httpClient,
            sp.GetService<ILogger<SwiftObjectStore>>()));
    }

    /// <summary>Stores the archive in the Swift container with options configured elsewhere.</summary>
    public static IPgArchiveBuilder UseSwift(this IPgArchiveBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSwiftStore(sp => new SwiftObjectStore(
            sp.GetRequiredService<IOptions<SwiftObjectStoreOptions>>(),
            sp.GetService<ILogger<SwiftObjectStore>>()));
    }

    /// <summary>
    /// Adds the Swift container configured by <paramref name="configure"/> as the store named <paramref name="name"/> (a
    /// second repository or failover storage; see <c>UseFailoverStores</c>).
    /// </summary>
    public static IPgArchiveBuilder UseSwift(this IPgArchiveBuilder builder, string name, Action<SwiftObjectStoreOptions> configure) =>
        FailoverPgArchiveBuilderExtensions.AddNamedStore<SwiftObjectStoreOptions, SwiftObjectStoreOptionsValidator>(builder, name, configure,
            (sp, options) => new SwiftObjectStore(options.Value, null, sp.GetService<ILogger<SwiftObjectStore>>()));

    private static IPgArchiveBuilder AddSwiftStore(this IPgArchiveBuilder builder, Func<IServiceProvider, SwiftObjectStore> create)
    {
        var services = builder.Services;
        services.AddOptions<SwiftObjectStoreOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SwiftObjectStoreOptions>, SwiftObjectStoreOptionsValidator>());
        services.TryAddSingleton(create);
        services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<SwiftObjectStore>()));
        return builder;
    }
}
