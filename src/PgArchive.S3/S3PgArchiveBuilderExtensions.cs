using Amazon.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Stores the archive in Amazon S3 or an S3-compatible server.</summary>
public static class S3PgArchiveBuilderExtensions
{
    /// <summary>
    /// Stores the archive in the S3 bucket configured by <paramref name="configure"/>. An <see cref="IAmazonS3"/>
    /// registered by the application is used as is; otherwise one is built from the options.
    /// </summary>
    public static IPgArchiveBuilder UseS3(this IPgArchiveBuilder builder, Action<S3ObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<S3ObjectStoreOptions>().Configure(configure);
        return builder.UseS3();
    }

    /// <summary>Stores the archive in the S3 bucket configured by <paramref name="section"/> (e.g. <c>PgArchive:S3</c>); unknown keys are an error.</summary>
    public static IPgArchiveBuilder UseS3(this IPgArchiveBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<S3ObjectStoreOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder.UseS3();
    }

    /// <summary>
    /// Stores the archive in Amazon S3 or an S3-compatible server with the caller's own <paramref name="client"/>
    /// (its owner configures credentials, endpoint and retries); <paramref name="configure"/> names the bucket and
    /// the store's settings. The client is registered as the application's <see cref="IAmazonS3"/>; the caller keeps
    /// ownership of it.
    /// </summary>
    public static IPgArchiveBuilder UseS3(this IPgArchiveBuilder builder, IAmazonS3 client, Action<S3ObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(client);
        builder.Services.Replace(ServiceDescriptor.Singleton(client));
        return builder.UseS3(configure);
    }

    /// <summary>
    /// Stores the archive in Amazon S3 or an S3-compatible server with options configured elsewhere. An
    /// <see cref="IAmazonS3"/> registered by the application is used as is; otherwise one is built from the options.
    /// </summary>
    public static IPgArchiveBuilder UseS3(this IPgArchiveBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<S3ObjectStoreOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<S3ObjectStoreOptions>, S3ObjectStoreOptionsValidator>());
        services.TryAddSingleton(sp => new S3ObjectStore(
            sp.GetRequiredService<IOptions<S3ObjectStoreOptions>>(),
            sp.GetService<IAmazonS3>(),
            sp.GetService<ILogger<S3ObjectStore>>()));
        services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<S3ObjectStore>()));
        return builder;
    }

    /// <summary>
    /// Adds the S3 bucket configured by <paramref name="configure"/> as the store named <paramref name="name"/> (a second
    /// repository or failover storage; see <c>UseFailoverStores</c>), with its own client built from the options.
    /// </summary>
    public static IPgArchiveBuilder UseS3(this IPgArchiveBuilder builder, string name, Action<S3ObjectStoreOptions> configure) =>
        FailoverPgArchiveBuilderExtensions.AddNamedStore<S3ObjectStoreOptions, S3ObjectStoreOptionsValidator>(builder, name, configure,
            (sp, options) => new S3ObjectStore(options, null, sp.GetService<ILogger<S3ObjectStore>>()));
}
