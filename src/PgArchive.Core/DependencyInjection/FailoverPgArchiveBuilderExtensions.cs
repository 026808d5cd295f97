using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// A second repository, or WAL-G's failover storages: the store configured with <c>UseS3</c>, <c>UseLocalFileSystem</c>,
/// ... is the primary, named <c>default</c>; each <see cref="AddFailoverStore"/> adds a named one after it.
/// </summary>
public static class FailoverPgArchiveBuilderExtensions
{
    /// <summary>
    /// Adds the store <paramref name="factory"/> builds, named <paramref name="name"/>, after the primary and the
    /// failover stores added before it. <see cref="UseFailoverStores(IPgArchiveBuilder, Action{FailoverStoresOptions}?)"/> puts them to use.
    /// </summary>
    public static IPgArchiveBuilder AddFailoverStore(this IPgArchiveBuilder builder, string name, Func<IServiceProvider, IObjectStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (name == FailoverStoresOptions.PrimaryName)
        {
            throw new ArgumentException($"'{FailoverStoresOptions.PrimaryName}' names the primary store (UseS3, UseLocalFileSystem, ...): choose another name.", nameof(name));
        }

        builder.Services.AddSingleton(new FailoverStoreRegistration(name, factory));
        return builder;
    }

    /// <summary>
    /// Puts the primary store (configured so far) and the stores of <see cref="AddFailoverStore"/> behind one
    /// <see cref="FailoverObjectStore"/>, with <paramref name="configure"/> setting its policy, checks and cache.
    /// The failover store is also registered as <see cref="FailoverObjectStore"/> (for <c>catch-up</c>).
    /// </summary>
    public static IPgArchiveBuilder UseFailoverStores(this IPgArchiveBuilder builder, Action<FailoverStoresOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var primary = PgArchiveServiceCollectionExtensions.ConfiguredStore(builder, nameof(UseFailoverStores));
        var options = builder.Services.AddOptions<FailoverStoresOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FailoverStoresOptions>, FailoverStoresOptionsValidator>());
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => new FailoverObjectStore(
            [new FailoverStore(FailoverStoresOptions.PrimaryName, primary(sp)), .. sp.GetServices<FailoverStoreRegistration>().Select(r => new FailoverStore(r.Name, r.Factory(sp)))],
            sp.GetRequiredService<IOptions<FailoverStoresOptions>>().Value, sp.GetService<TimeProvider>(), sp.GetService<ILogger<FailoverObjectStore>>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<FailoverObjectStore>()));
        return builder;
    }

    /// <summary>As <see cref="UseFailoverStores(IPgArchiveBuilder, Action{FailoverStoresOptions}?)"/>, the options bound from <paramref name="configuration"/>; unknown keys are an error.</summary>
    public static IPgArchiveBuilder UseFailoverStores(this IPgArchiveBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.UseFailoverStores(o => configuration.Bind(o, b => b.ErrorOnUnknownConfiguration = true));
    }
}

/// <summary>A failover store added by <see cref="FailoverPgArchiveBuilderExtensions.AddFailoverStore"/>.</summary>
internal sealed record FailoverStoreRegistration(string Name, Func<IServiceProvider, IObjectStore> Factory);
