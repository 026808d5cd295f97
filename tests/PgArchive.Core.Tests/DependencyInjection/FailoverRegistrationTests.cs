using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Storage;

namespace PgArchive.DependencyInjection;

/// <summary>UseFailoverStores: the primary named default, the failover stores after it in order, options bound strictly.</summary>
public sealed class FailoverRegistrationTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_primary_and_the_failover_stores_are_named_in_order_and_a_put_reaches_each()
    {
        var second = new InMemoryObjectStore();
        var third = new InMemoryObjectStore();
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory()
            .AddFailoverStore("second", _ => second)
            .AddFailoverStore("third", _ => third)
            .UseFailoverStores(o => (o.Policy, o.CacheFile) = (FailoverWritePolicy.All, null));
        await using var provider = services.BuildServiceProvider();

        var failover = provider.GetRequiredService<FailoverObjectStore>();
        await provider.GetRequiredService<IObjectStore>().PutAsync("k", new MemoryStream([1]), cancellationToken: Token);

        Assert.Equal(["default", "second", "third"], failover.Stores.Select(s => s.Name));
        Assert.Same(failover, provider.GetRequiredService<IObjectStore>());
        Assert.All([provider.GetRequiredService<InMemoryObjectStore>(), second, third], s => Assert.Equal(["k"], s.Keys));
    }

    [Fact]
    public async Task Named_stores_without_an_unnamed_one_make_the_first_the_primary_each_with_its_own_options()
    {
        var root = Directory.CreateTempSubdirectory("pgarchive-named-").FullName;
        try
        {
            var services = new ServiceCollection();
            services.AddPgArchive()
                .UseLocalFileSystem("primary", o => o.RootPath = Path.Combine(root, "one"))
                .UseLocalFileSystem("second", o => o.RootPath = Path.Combine(root, "two"))
                .UseFailoverStores(o => (o.Policy, o.CacheFile) = (FailoverWritePolicy.All, null));
            await using var provider = services.BuildServiceProvider();

            await provider.GetRequiredService<IObjectStore>().PutAsync("k", new MemoryStream([1]), cancellationToken: Token);

            Assert.Equal(["primary", "second"], provider.GetRequiredService<FailoverObjectStore>().Stores.Select(s => s.Name));
            Assert.True(File.Exists(Path.Combine(root, "one", "k")));
            Assert.True(File.Exists(Path.Combine(root, "two", "k")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_named_store_s_options_are_validated_at_start()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseLocalFileSystem("second", o => o.RootPath = " ").UseFailoverStores();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<LocalFileSystemObjectStoreOptions>>().Get("second"));

        Assert.Equal(["LocalFileSystem:RootPath (WALG_FILE_PREFIX) is required: the directory that holds the archive."], ex.Failures);
    }

    [Fact]
    public void Misspelt_setting_in_the_failover_section_is_an_error()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FailoverStorages:Policy"] = "FirstAlive",
            ["FailoverStorages:CheckTimout"] = "00:00:05",
        }).Build();
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory().AddFailoverStore("second", _ => new InMemoryObjectStore())
            .UseFailoverStores(configuration.GetSection("FailoverStorages"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<FailoverStoresOptions>>().Value);

        Assert.Equal("'ErrorOnUnknownConfiguration' was set on the provided BinderOptions, but the following properties were not found on the instance of PgArchive.Storage.FailoverStoresOptions: 'CheckTimout'", ex.Message);
    }

    [Fact]
    public void Invalid_options_fail_at_start_with_the_validator_message()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory().UseFailoverStores(o => o.CheckTimeout = TimeSpan.Zero);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<FailoverStoresOptions>>().Value);

        Assert.Equal(["FailoverStorages:CheckTimeout (WALG_FAILOVER_STORAGES_CHECK_TIMEOUT) must be positive; it is 00:00:00."], ex.Failures);
    }

    [Fact]
    public void The_name_default_is_the_primary_s()
    {
        var services = new ServiceCollection();

        var ex = Assert.Throws<ArgumentException>(() => services.AddPgArchive().UseInMemory().AddFailoverStore("default", _ => new InMemoryObjectStore()));

        Assert.StartsWith("'default' names the primary store", ex.Message, StringComparison.Ordinal);
    }
}
