using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>UseGcs: binding, validation at start, and a client the application owns.</summary>
public sealed class GcsRegistrationTests(GcsEmulatorFixture gcs)
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
            ["PgArchive:Gcs:BucketName"] = gcs.Bucket,
            ["PgArchive:Gcs:Prefix"] = "registration/" + Guid.NewGuid().ToString("N"),
            ["PgArchive:Gcs:EmulatorHost"] = gcs.EmulatorHost,
            ["PgArchive:Gcs:ChunkSize"] = "524288",
            ["PgArchive:Gcs:MaxRetries"] = "3",
        }).Build();
        await using var provider = Build(s => s.AddPgArchive().UseGcs(configuration.GetSection("PgArchive:Gcs")));

        var store = provider.GetRequiredService<IObjectStore>();
        await store.PutAsync("wal_005/x", new MemoryStream([1, 2, 3]), cancellationToken: Token);

        Assert.IsType<GcsObjectStore>(store);
        Assert.Equal(3, (await store.GetInfoAsync("wal_005/x", Token))!.Size);
        Assert.Equal(4, ((GcsObjectStore)store).Client.Service.HttpClient.MessageHandler.NumTries);
        await store.DeleteAsync(["wal_005/x"], Token);
    }

    [Fact]
    public void Misspelt_setting_in_the_section_is_an_error()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gcs:BucketName"] = "b",
            ["Gcs:ChunkSizeBytes"] = "1048576",
        }).Build();

        var ex = Assert.Throws<InvalidOperationException>(() => Build(s => s.AddPgArchive().UseGcs(configuration.GetSection("Gcs"))));

        Assert.Contains("ChunkSizeBytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_fail_at_start_with_every_problem_named()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build(s => s.AddPgArchive().UseGcs(o =>
        {
            o.ChunkSize = 1_000_000;
            o.MaxRetries = 50;
            o.EmulatorHost = "127.0.0.1:4443";
            o.CredentialsPath = "/etc/key.json";
        })));

        Assert.Contains("Gcs:BucketName is required: set WALG_GS_PREFIX=gs://<bucket>/<folder> (or the option).", ex.Failures);
        Assert.Contains("Gcs:ChunkSize (GCS_MAX_CHUNK_SIZE) must be a multiple of 256 KiB (262144 bytes).", ex.Failures);
        Assert.Contains("Gcs:MaxRetries (GCS_MAX_RETRIES) must be between 0 and 19.", ex.Failures);
        Assert.Contains("Gcs:EmulatorHost (STORAGE_EMULATOR_HOST) excludes Gcs:Endpoint and Gcs:CredentialsPath: the emulator takes no credentials.", ex.Failures);
    }

    [Fact]
    public async Task Client_registered_by_the_application_is_used_as_is()
    {
        var prefix = "owned/" + Guid.NewGuid().ToString("N");
        await using var provider = Build(s =>
        {
            s.AddSingleton(gcs.Client);
            s.AddPgArchive().UseGcs(o =>
            {
                o.BucketName = gcs.Bucket;
                o.Prefix = prefix;
            });
        });

        var store = provider.GetRequiredService<GcsObjectStore>();
        await store.PutAsync("k", new MemoryStream([9]), cancellationToken: Token);

        Assert.Same(gcs.Client, store.Client);
        Assert.NotNull(await gcs.Client.GetObjectAsync(gcs.Bucket, prefix + "/k", cancellationToken: Token));
        await store.DeleteAsync(["k"], Token);
    }
}
