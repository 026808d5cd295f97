using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PgArchive;
using PgArchive.Backups;
using PgArchive.Compression;
using PgArchive.DependencyInjection;
using PgArchive.Encryption;
using PgArchive.Retention;
using PgArchive.Storage;
using PgArchive.Verification;
using PgArchive.Wal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers PgArchive's services.</summary>
public static class PgArchiveServiceCollectionExtensions
{
    /// <summary>Registers the archive services with options bound from <paramref name="configuration"/> (e.g. the <c>PgArchive</c> section).</summary>
    /// <remarks>
    /// A setting of the section that <see cref="PgArchiveOptions"/> does not have is an error, so a misspelt one is
    /// not silently ignored; its subsections (<c>Zstd</c>, <c>LocalFileSystem</c>, a provider's) belong to their own options:
    /// a compressor's subsection is bound by its registration (<see cref="CompressionPgArchiveBuilderExtensions"/>), where
    /// a setting its options do not have is an error too.
    /// </remarks>
    public static IPgArchiveBuilder AddPgArchive(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddPgArchive();
        services.AddOptions<PgArchiveOptions>().Configure(options => SettingsOnly(configuration).Bind(options, o => o.ErrorOnUnknownConfiguration = true));
        services.AddSingleton<IOptionsChangeTokenSource<PgArchiveOptions>>(new ConfigurationChangeTokenSource<PgArchiveOptions>(configuration));
        services.TryAddSingleton(new PgArchiveConfigurationSection(configuration));
        return builder;
    }

    /// <summary>Registers the archive services with their options as configured elsewhere (or their defaults).</summary>
    public static IPgArchiveBuilder AddPgArchive(this IServiceCollection services) => services.AddPgArchive(configure: null);

    /// <summary>Registers the archive services, configuring their options.</summary>
    public static IPgArchiveBuilder AddPgArchive(this IServiceCollection services, Action<PgArchiveOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<PgArchiveOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PgArchiveOptions>, PgArchiveOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        var builder = new PgArchiveBuilder(services)
            .AddCompressor<Lz4Compressor>()
            .AddCompressor<ZstdCompressor, ZstdCompressorOptions, ZstdCompressorOptionsValidator>("Zstd")
            .AddCompressor<BrotliCompressor, BrotliCompressorOptions, BrotliCompressorOptionsValidator>("Brotli")
            .AddCompressor<LzmaCompressor, LzmaCompressorOptions, LzmaCompressorOptionsValidator>("Lzma")
            .AddCompressor<NoCompressor>()
            .AddDecompressor<LzopDecompressor>()
            .AddDecompressor<GzipDecompressor>();
        services.TryAddSingleton<IEncryptor, NoEncryptor>();
        services.TryAddSingleton<CompressorRegistry>();
        services.TryAddSingleton<ObjectCodec>();
        // Every service reaches the configured store through the retry layer (PgArchiveOptions.StoreRetries), and through
        // archive authentication in front of it when UseArchiveAuthentication turned it on.
        // WALG_NETWORK_RATE_LIMIT holds the content every command sends and receives to one budget, under the retry layer.
        services.TryAddSingleton(sp => new NetworkRateLimit(sp.GetRequiredService<IOptions<PgArchiveOptions>>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp => new RetryingObjectStore(
            sp.GetRequiredService<NetworkRateLimit>().Over(sp.GetRequiredService<IObjectStore>()), sp.GetRequiredService<IOptions<PgArchiveOptions>>(), sp.GetService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<RetryingObjectStore>>()));
        AddOverRetryingStore<WalArchiver>(services);
        services.TryAddSingleton<WalReadyUploader>();
        services.TryAddSingleton<WalPrefetcher>();
        AddOverRetryingStore<BackupCatalog>(services);
        AddOverRetryingStore<BackupPusher>(services);
        AddOverRetryingStore<BackupFetcher>(services);
        AddOverRetryingStore<BackupVerifier>(services);
        AddOverRetryingStore<RetentionPlanner>(services);
        AddOverRetryingStore<WalTimelineReporter>(services);
        AddOverRetryingStore<WalVerifier>(services);
        services.TryAddSingleton<PgArchive.Drill.RestoreDrill>();
        return builder;
    }

    internal static void AddOverRetryingStore<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] T>(IServiceCollection services) where T : class =>
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<T>(sp, ArchiveStore(sp)));

    /// <summary>The store the archive services use: through the retry layer, and archive authentication when it is on.</summary>
    internal static IObjectStore ArchiveStore(IServiceProvider services) =>
        services.GetService<AuthenticatingObjectStore>() as IObjectStore ?? services.GetRequiredService<RetryingObjectStore>();

    /// <summary>
    /// Wraps the store configured so far (call after <c>UseLocalFileSystem</c>, <c>UseS3</c>, ...) in a
    /// <see cref="FaultInjectingObjectStore"/>: for tests of how the archive rides out storage faults.
    /// The wrapper is also registered as <see cref="FaultInjectingObjectStore"/> to read its counters.
    /// </summary>
    public static IPgArchiveBuilder UseFaultInjection(this IPgArchiveBuilder builder, FaultInjectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var inner = ConfiguredStore(builder, nameof(UseFaultInjection));
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => new FaultInjectingObjectStore(inner(sp), options)));
        builder.Services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<FaultInjectingObjectStore>()));
        return builder;
    }

    /// <summary>How to build the store configured so far, for a registration (<paramref name="caller"/>) that wraps it.</summary>
    internal static Func<IServiceProvider, IObjectStore> ConfiguredStore(IPgArchiveBuilder builder, string caller)
    {
        var current = builder.Services.LastOrDefault(d => d.ServiceType == typeof(IObjectStore) && !d.IsKeyedService)
            ?? throw new InvalidOperationException($"Configure a store (UseLocalFileSystem, UseS3, ...) before {caller}.");
        return current switch
        {
            { ImplementationInstance: IObjectStore instance } => _ => instance,
            { ImplementationFactory: { } factory } => sp => (IObjectStore)factory(sp),
            { ImplementationType: { } type } => sp => (IObjectStore)ActivatorUtilities.CreateInstance(sp, type),
            _ => throw new InvalidOperationException("The configured store cannot be wrapped."),
        };
    }

    /// <summary>Stores the archive in a local directory (WAL-G's <c>WALG_FILE_PREFIX</c>).</summary>
    public static IPgArchiveBuilder UseLocalFileSystem(this IPgArchiveBuilder builder, string rootPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootPath);
        return builder.UseLocalFileSystem(o => o.RootPath = rootPath);
    }

    /// <summary>Stores the archive in a local directory configured by <paramref name="configure"/>.</summary>
    public static IPgArchiveBuilder UseLocalFileSystem(this IPgArchiveBuilder builder, Action<LocalFileSystemObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<LocalFileSystemObjectStoreOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalFileSystemObjectStoreOptions>, LocalFileSystemObjectStoreOptionsValidator>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IObjectStore, LocalFileSystemObjectStore>());
        return builder;
    }

    /// <summary>
    /// Adds a local directory as the store named <paramref name="name"/>, for <see cref="FailoverPgArchiveBuilderExtensions.UseFailoverStores(IPgArchiveBuilder, Action{FailoverStoresOptions}?)"/>.
    /// </summary>
    public static IPgArchiveBuilder UseLocalFileSystem(this IPgArchiveBuilder builder, string name, Action<LocalFileSystemObjectStoreOptions> configure) =>
        FailoverPgArchiveBuilderExtensions.AddNamedStore<LocalFileSystemObjectStoreOptions, LocalFileSystemObjectStoreOptionsValidator>(builder, name, configure,
            (_, options) => new LocalFileSystemObjectStore(options));

    /// <summary>Stores the archive in a local directory bound from <paramref name="configuration"/> (key <c>RootPath</c>); unknown keys are an error.</summary>
    public static IPgArchiveBuilder UseLocalFileSystem(this IPgArchiveBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.UseLocalFileSystem(o => configuration.Bind(o, b => b.ErrorOnUnknownConfiguration = true));
    }

    // The section's own values, without its subsections: what PgArchiveOptions (all scalars) is bound from.
    private static IConfiguration SettingsOnly(IConfiguration configuration) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(configuration.GetChildren().Where(c => c.Value is not null).Select(c => KeyValuePair.Create(c.Key, c.Value)))
            .Build();

    /// <summary>Stores the archive in memory: a fake for unit tests. <see cref="InMemoryObjectStore"/> is also registered to inspect it.</summary>
    public static IPgArchiveBuilder UseInMemory(this IPgArchiveBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(sp => new InMemoryObjectStore(sp.GetService<TimeProvider>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<InMemoryObjectStore>()));
        return builder;
    }
}
