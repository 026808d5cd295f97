using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Backups;
using PgArchive.Storage;
using PgArchive.Support;
using PgArchive.Wal;

namespace PgArchive.Compression.Sample;

/// <summary>
/// The sample codec, registered with one line, is picked up by the archive by name: configured as the method
/// (<c>PgArchive:CompressionMethod</c>) with its options from <c>PgArchive:Xor</c>, wal-push writes <c>.xor</c>
/// objects, and wal-fetch and backup-fetch read them back.
/// </summary>
public sealed class XorArchiveRoundTripTests : IDisposable
{
    private const string Backup = "base_000000010000000000000004";
    private readonly string _root = Directory.CreateTempSubdirectory("pgarchive-xor-").FullName;
    private readonly List<ServiceProvider> _providers = [];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    private ServiceProvider Services(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create("PgArchive:" + s.Key, (string?)s.Value)))
            .Build();
        var builder = new ServiceCollection().AddPgArchive(configuration.GetSection("PgArchive")).UseInMemory();
        builder.AddCompressor<XorCompressor, XorCompressorOptions, XorCompressorOptionsValidator>("Xor");
        var provider = builder.Services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }

    [Fact]
    public async Task Wal_push_writes_xor_objects_with_the_configured_key_and_wal_fetch_reads_them()
    {
        var services = Services(("CompressionMethod", "xor"), ("Xor:Key", "7"));
        var store = services.GetRequiredService<InMemoryObjectStore>();
        var archiver = services.GetRequiredService<WalArchiver>();
        const string name = "000000010000000000000003";
        var segment = WalSegments.Create(name, size => Codecs.Data(size, seed: 3));
        var path = Path.Combine(_root, name);
        await File.WriteAllBytesAsync(path, segment, Token);

        await archiver.PushAsync(path, Token);
        var restored = Path.Combine(_root, "restored");
        await archiver.FetchAsync(name, restored, Token);

        Assert.Equal(segment.Select(b => (byte)(b ^ 7)), store.GetBytes("wal_005/" + name + ".xor"));
        Assert.Equal(segment, await File.ReadAllBytesAsync(restored, Token));
    }

    [Fact]
    public async Task Backup_fetch_restores_a_backup_stored_through_the_xor_codec()
    {
        var services = Services(("CompressionMethod", "xor"));
        var pgControl = Codecs.Data(8192, seed: 42);
        var relation = Codecs.Data(300_000, seed: 43);
        var keys = await SyntheticBackup.StoreAsync(services.GetRequiredService<InMemoryObjectStore>(), services.GetRequiredService<ObjectCodec>(), Backup,
            SyntheticBackup.Partitions(pgControl, TarMember.File("PG_VERSION", "15\n"u8.ToArray()), TarMember.File("base/1/1259", relation)));
        var target = Path.Combine(_root, "restored");

        await services.GetRequiredService<BackupFetcher>().FetchAsync(new BackupFetchRequest { TargetDirectory = target, BackupName = Backup }, Token);

        Assert.EndsWith("part_001.tar.xor", keys["part_001.tar"], StringComparison.Ordinal);
        Assert.Equal(pgControl, await File.ReadAllBytesAsync(Path.Combine(target, "global", "pg_control"), Token));
        Assert.Equal(relation, await File.ReadAllBytesAsync(Path.Combine(target, "base", "1", "1259"), Token));
    }

    [Fact]
    public void Key_0_fails_at_start_naming_the_setting()
    {
        var services = Services(("Xor:Key", "0"));

        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<XorCompressorOptions>>().Value);

        Assert.Contains("PgArchive:Xor:Key must not be 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Misspelt_setting_of_its_section_is_an_error()
    {
        var services = Services(("Xor:Kee", "7"));

        var ex = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IOptions<XorCompressorOptions>>().Value);

        Assert.Contains("'Kee'", ex.Message, StringComparison.Ordinal);
    }
}
