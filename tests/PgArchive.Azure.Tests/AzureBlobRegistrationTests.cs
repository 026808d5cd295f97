using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>UseAzureBlob: binding, validation at start, and a container client the application owns.</summary>
public sealed class AzureBlobRegistrationTests(AzuriteFixture azurite)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        configure(services);
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        return provider;
    }

    [Fact]
    public async Task Configuration_section_binds_and_the_store_works()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PgArchive:AzureBlob:ConnectionString"] = azurite.ConnectionString,
            ["PgArchive:AzureBlob:ContainerName"] = AzuriteFixture.ContainerName,
            ["PgArchive:AzureBlob:Prefix"] = "registration/" + Guid.NewGuid().ToString("N"),
            ["PgArchive:AzureBlob:BlockSize"] = "2097152",
            ["PgArchive:AzureBlob:TryTimeout"] = "00:00:30",
        }).Build();
        await using var provider = Build(s => s.AddPgArchive().UseAzureBlob(configuration.GetSection("PgArchive:AzureBlob")));

        var store = provider.GetRequiredService<IObjectStore>();
        await store.PutAsync("wal_005/x", new MemoryStream([1, 2, 3]), cancellationToken: Token);

        Assert.IsType<AzureBlobObjectStore>(store);
        Assert.Same(store, provider.GetRequiredService<AzureBlobObjectStore>());
        Assert.Equal(3, (await store.GetInfoAsync("wal_005/x", Token))!.Size);
        Assert.Equal(2 << 20, provider.GetRequiredService<IOptions<AzureBlobObjectStoreOptions>>().Value.BlockSize);
        await store.DeleteAsync(["wal_005/x"], Token);
    }

    [Fact]
    public void Misspelt_setting_in_the_section_is_an_error()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureBlob:ContainerName"] = "c",
            ["AzureBlob:AccountName"] = "a",
            ["AzureBlob:BlokSize"] = "1048576",
        }).Build();

        var ex = Assert.Throws<InvalidOperationException>(() => Build(s => s.AddPgArchive().UseAzureBlob(configuration.GetSection("AzureBlob"))));

        Assert.Contains("BlokSize", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_fail_at_start_with_every_problem_named()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build(s => s.AddPgArchive().UseAzureBlob(o =>
        {
            o.AccountKey = "a2V5";
            o.BlockSize = 1000;
            o.TryTimeout = TimeSpan.Zero;
        })));

        Assert.Contains("AzureBlob:ContainerName is required: set WALG_AZ_PREFIX=azure://<container>/<folder> (or the option).", ex.Failures);
        Assert.Contains("AzureBlob:AccountName (AZURE_STORAGE_ACCOUNT) is required with an account key (AZURE_STORAGE_ACCESS_KEY).", ex.Failures);
        Assert.Contains("AzureBlob:BlockSize (AZURE_BUFFER_SIZE) must be between 1 MiB and 256 MiB.", ex.Failures);
        Assert.Contains("AzureBlob:TryTimeout (AZURE_TRY_TIMEOUT) must be between 1 second and 1 day.", ex.Failures);
        Assert.DoesNotContain("a2V5", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Container_client_registered_by_the_application_is_used_as_is()
    {
        var client = new BlobContainerClient(azurite.ConnectionString, AzuriteFixture.ContainerName);
        var prefix = "owned/" + Guid.NewGuid().ToString("N");
        await using var provider = Build(s =>
        {
            s.AddSingleton(client);
            s.AddPgArchive().UseAzureBlob(o => o.Prefix = prefix).UseAzureBlob(o => o.MaxConcurrency = 2);
        });

        var store = provider.GetRequiredService<AzureBlobObjectStore>();
        await store.PutAsync("k", new MemoryStream([9]), cancellationToken: Token);

        Assert.Same(client, store.ContainerClient);
        Assert.Equal(prefix + "/", store.Prefix);
        Assert.Single(provider.GetServices<IObjectStore>());
        Assert.True(await client.GetBlobClient(prefix + "/k").ExistsAsync(Token));
        await store.DeleteAsync(["k"], Token);
    }
}
