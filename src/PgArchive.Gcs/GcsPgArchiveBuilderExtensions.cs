using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="GcsObjectStore"/> as the archive's object store.</summary>
public static class GcsPgArchiveBuilderExtensions
{
    /// <summary>
    /// Stores the archive in Google Cloud Storage. Uses the <see cref="StorageClient"/> registered in the service
    /// collection if there is one (its owner configures credentials, endpoint and HTTP retries); otherwise builds one
    /// from <see cref="GcsObjectStoreOptions"/>.
    /// </summary>
    public static IPgArchiveBuilder UseGcs(this IPgArchiveBuilder builder, Action<GcsObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<GcsObjectStoreOptions>().Configure(configure);
        return builder.UseGcs();
    }

    /// <summary>Stores the archive in Google Cloud Storage configured by <paramref name="configuration"/> (e.g. the <c>PgArchive:Gcs</c> section).</summary>
    /// <remarks>Unknown keys in the section are errors, so a misspelt setting is not silently ignored.</remarks>
    public static IPgArchiveBuilder UseGcs(this IPgArchiveBuilder builder, IConfigurationSection configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<GcsObjectStoreOptions>().Bind(configuration, o => o.ErrorOnUnknownConfiguration = true);
        return builder.UseGcs();
    }

    /// <summary>
    /// Stores the archive in Google Cloud Storage with the caller's own <paramref name="client"/> (its owner
    /// configures credentials, endpoint and HTTP retries); <paramref name="configure"/> names the bucket and the
    /// store's settings. The client is registered as the application's <see cref="StorageClient"/>; the caller keeps
    /// ownership of it.
    /// </summary>
    public static IPgArchiveBuilder UseGcs(this IPgArchiveBuilder builder, StorageClient client, Action<GcsObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(client);
        builder.Services.Replace(ServiceDescriptor.Singleton(client));
        return builder.UseGcs(configure);
    }

    /// <summary>Stores the archive in Google Cloud Storage with options configured elsewhere (and a registered <see cref="StorageClient"/>, if any).</summary>
    public static IPgArchiveBuilder UseGcs(this IPgArchiveBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<GcsObjectStoreOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GcsObjectStoreOptions>, GcsObjectStoreOptionsValidator>());
        builder.Services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<GcsObjectStoreOptions>>().Value;
            return new GcsObjectStore(sp.GetService<StorageClient>() ?? GcsObjectStore.CreateClient(options), options, sp.GetService<ILogger<GcsObjectStore>>());
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<GcsObjectStore>()));
        return builder;
    }

    /// <summary>
    /// Adds the GCS bucket configured by <paramref name="configure"/> as the store named <paramref name="name"/> (a second
    /// repository or failover storage; see <c>UseFailoverStores</c>), with its own client built from the options.
    /// </summary>
    public static IPgArchiveBuilder UseGcs(this IPgArchiveBuilder builder, string name, Action<GcsObjectStoreOptions> configure) =>
        FailoverPgArchiveBuilderExtensions.AddNamedStore<GcsObjectStoreOptions, GcsObjectStoreOptionsValidator>(builder, name, configure,
            (sp, options) => new GcsObjectStore(GcsObjectStore.CreateClient(options.Value), options.Value, sp.GetService<ILogger<GcsObjectStore>>()));
}
