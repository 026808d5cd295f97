using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Backups;
using PgArchive.Storage;
using PgArchive.Wal;

namespace PgArchive.DependencyInjection;

public sealed class RegistrationTests
{
    [Fact]
    public void Add_pg_archive_twice_registers_each_service_once()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        services.AddPgArchive().UseInMemory();

        Assert.Single(services, d => d.ServiceType == typeof(WalArchiver));
        Assert.Single(services, d => d.ServiceType == typeof(IObjectStore));
        using var provider = services.BuildServiceProvider();
        var methods = provider.GetServices<Compression.ICompressor>().Select(c => c.Method).ToList();
        Assert.Equal(methods.Distinct(), methods);
        Assert.Contains("lz4", methods);
    }

    [Fact]
    public void Options_bind_from_a_configuration_section()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PgArchive:CompressionMethod"] = "none",
            ["PgArchive:TarSizeThreshold"] = "2097152",
            ["PgArchive:LocalFileSystem:RootPath"] = "/backups",
        }).Build();
        var services = new ServiceCollection();
        services.AddPgArchive(configuration.GetSection("PgArchive")).UseLocalFileSystem(configuration.GetSection("PgArchive:LocalFileSystem"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<PgArchiveOptions>>().Value;

        Assert.Equal("none", options.CompressionMethod);
        Assert.Equal(2097152, options.TarSizeThreshold);
        Assert.Equal("/backups", ((LocalFileSystemObjectStore)provider.GetRequiredService<IObjectStore>()).RootPath);
        Assert.Equal("none", provider.GetRequiredService<Compression.CompressorRegistry>().Default.Method);
    }

    [Fact]
    public void Misspelt_setting_in_the_archive_section_is_an_error()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PgArchive:CompresionMethod"] = "none",
            ["PgArchive:LocalFileSystem:RootPath"] = "/backups",
        }).Build();
        var services = new ServiceCollection();
        services.AddPgArchive(configuration.GetSection("PgArchive")).UseLocalFileSystem(configuration.GetSection("PgArchive:LocalFileSystem"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<PgArchiveOptions>>().Value);

        Assert.Equal("'ErrorOnUnknownConfiguration' was set on the provided BinderOptions, but the following properties were not found on the instance of PgArchive.PgArchiveOptions: 'CompresionMethod'", ex.Message);
    }

    [Fact]
    public void Misspelt_setting_in_the_local_file_system_section_is_an_error()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LocalFileSystem:RootPath"] = "/backups",
            ["LocalFileSystem:RootPth"] = "/other",
        }).Build();
        var services = new ServiceCollection();
        services.AddPgArchive().UseLocalFileSystem(configuration.GetSection("LocalFileSystem"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IObjectStore>());

        Assert.Equal("'ErrorOnUnknownConfiguration' was set on the provided BinderOptions, but the following properties were not found on the instance of PgArchive.Storage.LocalFileSystemObjectStoreOptions: 'RootPth'", ex.Message);
    }

    [Fact]
    public void The_last_store_registered_wins()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseLocalFileSystem("/backups").UseInMemory();
        using var provider = services.BuildServiceProvider();

        Assert.IsType<InMemoryObjectStore>(provider.GetRequiredService<IObjectStore>());
        Assert.NotNull(provider.GetRequiredService<BackupFetcher>());
    }

    [Fact]
    public void Unknown_compression_method_names_the_setting()
    {
        var services = new ServiceCollection();
        services.AddPgArchive(o => o.CompressionMethod = "zip").UseInMemory();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<PgArchiveConfigurationException>(() => provider.GetRequiredService<WalArchiver>());

        Assert.Equal("Unknown compression method 'zip' (WALG_COMPRESSION_METHOD); known: lz4, zstd, brotli, lzma, none.", ex.Message);
    }
}
