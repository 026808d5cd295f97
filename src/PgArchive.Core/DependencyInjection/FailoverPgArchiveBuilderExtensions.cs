using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// A second repository, or WAL-G's failover storages: the store configured with <c>UseS3(...)</c>, <c>UseLocalFileSystem(...)</c>,
/// ... is the primary, named <c>default</c>; each named store (<c>UseS3("name", ...)</c>, <see cref="AddFailoverStore"/>)
/// follows in registration order. Without an unnamed store, the first named one is the primary.
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
        // The unnamed store (UseS3(...), ...) is the primary, named default; without one, the first named store is.
        var primary = builder.Services.Any(d => d.ServiceType == typeof(IObjectStore) && !d.IsKeyedService)
            ? PgArchiveServiceCollectionExtensions.ConfiguredStore(builder, nameof(UseFailoverStores))
            : null;
        var options = builder.Services.AddOptions<FailoverStoresOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FailoverStoresOptions>, FailoverStoresOptionsValidator>());
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => new FailoverObjectStore(
            (primary is null ? [] : new[] { new FailoverStore(FailoverStoresOptions.PrimaryName, primary(sp)) })
                .Concat(sp.GetServices<FailoverStoreRegistration>().Select(r => new FailoverStore(r.Name, r.Factory(sp)))),
            sp.GetRequiredService<IOptions<FailoverStoresOptions>>().Value, sp.GetService<TimeProvider>(), sp.GetService<ILogger<FailoverObjectStore>>())));
        builder.Services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<FailoverObjectStore>()));
        return builder;
    }

    /// <summary>
    /// For a provider's named overload (<c>UseS3(name, configure)</c>, ...): options named <paramref name="name"/>, checked
    /// at start by <typeparamref name="TValidator"/>, and a store <paramref name="create"/> builds from them, registered as
    /// the keyed <see cref="IObjectStore"/> <paramref name="name"/> (disposed with the container) and added as a failover store.
    /// </summary>
    internal static IPgArchiveBuilder AddNamedStore<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(IPgArchiveBuilder builder, string name, Action<TOptions> configure,
        Func<IServiceProvider, IOptions<TOptions>, IObjectStore> create)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<TOptions>(name).Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        builder.Services.AddKeyedSingleton(name, (sp, _) => create(sp, Options.Options.Create(sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name))));
        return builder.AddFailoverStore(name, sp => sp.GetRequiredKeyedService<IObjectStore>(name));
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
