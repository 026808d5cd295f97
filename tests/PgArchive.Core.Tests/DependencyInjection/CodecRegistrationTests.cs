using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Compression;
using PgArchive.Encryption;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.DependencyInjection;

public sealed class CodecRegistrationTests
{
    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        configure(services);
        return services.BuildServiceProvider();
    }

    [Theory]
    [InlineData("lz4", "lz4")]
    [InlineData("zstd", "zst")]
    [InlineData("brotli", "br")]
    [InlineData("lzma", "lzma")]
    [InlineData("none", "")]
    public void AddPgArchive_knows_every_walg_method_and_its_extension(string method, string extension)
    {
        using var provider = Build(s => s.AddPgArchive(o => o.CompressionMethod = method).UseInMemory());
        var registry = provider.GetRequiredService<CompressorRegistry>();

        Assert.Equal(method, registry.Default.Method);
        Assert.Equal(extension, registry.Default.FileExtension);
        Assert.Equal(Codecs.Registered.Select(c => c.Method).Order(), registry.ProbeOrder.Select(c => c.Method).Order()); // and WAL-E's .lzo and .gz, read only
        Assert.Same(registry.Default, provider.GetRequiredService<ObjectCodec>().CompressorFor("wal_005/000000010000000000000001" + (extension.Length > 0 ? "." + extension : "")));
    }

    [Fact]
    public void AddPgArchive_twice_registers_each_compressor_once()
    {
        using var provider = Build(s =>
        {
            s.AddPgArchive();
            s.AddPgArchive();
        });

        Assert.Equal(Codecs.Registered.OfType<ICompressor>().Select(c => c.Method), provider.GetServices<ICompressor>().Select(c => c.Method));
        Assert.Equal(Codecs.Registered.Count, provider.GetServices<ICompressor>().Count() + provider.GetServices<IDecompressor>().Count());
    }

    [Fact]
    public void Compression_levels_bind_from_the_pgarchive_section_and_a_misspelt_one_is_an_error()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["PgArchive:Zstd:Level"] = "19", ["PgArchive:Brotli:Qualty"] = "9" })
            .Build();
        using var provider = Build(s => s.AddPgArchive(configuration.GetSection("PgArchive")).UseInMemory());

        Assert.Equal(19, provider.GetRequiredService<IOptions<ZstdCompressorOptions>>().Value.Level);
        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<BrotliCompressorOptions>>().Value);
        Assert.Contains("'Qualty'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compression_levels_come_from_options()
    {
        using var provider = Build(s =>
        {
            s.AddPgArchive().UseInMemory();
            s.Configure<ZstdCompressorOptions>(o => o.Level = 19);
            s.Configure<BrotliCompressorOptions>(o => o.Quality = 9);
        });
        var compressors = provider.GetServices<ICompressor>().ToList();

        Assert.Equal(19, compressors.OfType<ZstdCompressor>().Single().Level);
        Assert.Equal(9, compressors.OfType<BrotliCompressor>().Single().Quality);
    }

    [Fact]
    public void Out_of_range_level_fails_validation_naming_the_setting()
    {
        using var provider = Build(s =>
        {
            s.AddPgArchive().UseInMemory();
            s.Configure<ZstdCompressorOptions>(o => o.Level = 23);
            s.Configure<LzmaCompressorOptions>(o => o.FastBytes = 1);
        });

        var zstd = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ZstdCompressorOptions>>().Value);
        var lzma = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<LzmaCompressorOptions>>().Value);

        Assert.Contains("WALG_ZSTD_LEVEL", zstd.Message, StringComparison.Ordinal);
        Assert.Contains("PGARCHIVE_LZMA_FAST_BYTES", lzma.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fastest", 1)]
    [InlineData("DEFAULT", 3)]
    [InlineData("better", 7)]
    [InlineData("best", 11)]
    [InlineData("19", 19)]
    public void Zstd_level_names_are_walgs(string name, int level)
    {
        Assert.Equal(level, ZstdCompressorOptions.ParseLevel(name));
    }

    [Fact]
    public void Zstd_level_that_is_no_level_fails_naming_the_setting()
    {
        var ex = Assert.Throws<PgArchiveConfigurationException>(() => ZstdCompressorOptions.ParseLevel("ultra"));
        Assert.Contains("WALG_ZSTD_LEVEL", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseLibsodiumEncryption_replaces_the_encryptor()
    {
        using var provider = Build(s => s.AddPgArchive().UseInMemory().UseLibsodiumEncryption(o => o.Key = new string('k', 32)));

        Assert.IsType<LibsodiumEncryptor>(provider.GetRequiredService<IEncryptor>());
    }

    [Fact]
    public void Libsodium_without_a_key_fails_validation_naming_the_settings()
    {
        using var provider = Build(s => s.AddPgArchive().UseInMemory().UseLibsodiumEncryption());

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IEncryptor>());

        Assert.Contains("WALG_LIBSODIUM_KEY", ex.Message, StringComparison.Ordinal);
        Assert.Contains("WALG_LIBSODIUM_KEY_PATH", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pgp_without_a_key_fails_validation_naming_the_settings()
    {
        using var provider = Build(s => s.AddPgArchive().UseInMemory().UsePgpEncryption());

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IEncryptor>());

        Assert.Contains("WALG_PGP_KEY", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encryption_options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Libsodium:Key"] = new string('a', 64),
                ["Libsodium:KeyTransform"] = "hex",
            })
            .Build();

        using var provider = Build(s => s.AddPgArchive().UseInMemory().UseLibsodiumEncryption(configuration.GetSection("Libsodium")));

        Assert.Equal(LibsodiumKeyTransform.Hex, provider.GetRequiredService<IOptions<LibsodiumEncryptorOptions>>().Value.KeyTransform);
        Assert.IsType<LibsodiumEncryptor>(provider.GetRequiredService<IEncryptor>());
    }
}
