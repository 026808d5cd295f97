using Azure.Core;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="AzureBlobObjectStore"/> as the archive's object store.</summary>
public static class AzureBlobPgArchiveBuilderExtensions
{
    /// <summary>
    /// Stores the archive in Azure Blob Storage. Uses the <see cref="BlobContainerClient"/> registered in the
    /// service collection if there is one (its owner configures credentials and retries; the options then only
    /// give prefix, block size and concurrency); otherwise builds one from <see cref="AzureBlobObjectStoreOptions"/>,
    /// with the <see cref="TokenCredential"/> registered in the service collection, if any, in place of
    /// <c>DefaultAzureCredential</c>.
    /// </summary>
    public static IPgArchiveBuilder UseAzureBlob(this IPgArchiveBuilder builder, Action<AzureBlobObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<AzureBlobObjectStoreOptions>().Configure(configure);
        return builder.UseAzureBlob();
    }

    /// <summary>Stores the archive in Azure Blob Storage configured by <paramref name="configuration"/> (e.g. the <c>PgArchive:AzureBlob</c> section).</summary>
    /// <remarks>Unknown keys in the section are errors, so a misspelt setting is not silently ignored.</remarks>
    public static IPgArchiveBuilder UseAzureBlob(this IPgArchiveBuilder builder, IConfigurationSection configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<AzureBlobObjectStoreOptions>().Bind(configuration, o => o.ErrorOnUnknownConfiguration = true);
        return builder.UseAzureBlob();
    }

    /// <summary>
    /// Stores the archive in the caller's own <paramref name="container"/> (its owner configures credentials and
    /// retries; the options then only give prefix, block size and concurrency). The client is registered as the
    /// application's <see cref="BlobContainerClient"/>; the caller keeps ownership of it.
    /// </summary>
    public static IPgArchiveBuilder UseAzureBlob(this IPgArchiveBuilder builder, BlobContainerClient container, Action<AzureBlobObjectStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(container);
        builder.Services.Replace(ServiceDescriptor.Singleton(container));
        return builder.UseAzureBlob(configure);
    }

    /// <summary>Stores the archive in Azure Blob Storage with options configured elsewhere (or a registered <see cref="BlobContainerClient"/>).</summary>
    public static IPgArchiveBuilder UseAzureBlob(this IPgArchiveBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<AzureBlobObjectStoreOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AzureBlobObjectStoreOptions>, AzureBlobObjectStoreOptionsValidator>());
        builder.Services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AzureBlobObjectStoreOptions>>().Value;
            var client = sp.GetService<BlobContainerClient>() ?? AzureBlobObjectStore.CreateContainerClient(options, sp.GetService<TokenCredential>());
            return new AzureBlobObjectStore(client, options, sp.GetService<ILogger<AzureBlobObjectStore>>());
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<AzureBlobObjectStore>()));
        return builder;
    }

    /// <summary>
    /// Adds the Azure container configured by <paramref name="configure"/> as the store named <paramref name="name"/> (a
    /// second repository or failover storage; see <c>UseFailoverStores</c>), with its own client built from the options.
    /// </summary>
    public static IPgArchiveBuilder UseAzureBlob(this IPgArchiveBuilder builder, string name, Action<AzureBlobObjectStoreOptions> configure) =>
        FailoverPgArchiveBuilderExtensions.AddNamedStore<AzureBlobObjectStoreOptions, AzureBlobObjectStoreOptionsValidator>(builder, name, configure,
            (sp, options) => new AzureBlobObjectStore(AzureBlobObjectStore.CreateContainerClient(options.Value, sp.GetService<TokenCredential>()), options.Value,
                sp.GetService<ILogger<AzureBlobObjectStore>>()));
}
