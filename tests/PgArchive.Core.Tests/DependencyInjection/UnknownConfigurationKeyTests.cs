using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace PgArchive.DependencyInjection;

/// <summary>Every overload that binds an <see cref="IConfiguration"/> refuses a key its options do not have, at start, naming it.</summary>
public sealed class UnknownConfigurationKeyTests
{
    public static TheoryData<string, string, string> Spots => new()
    {
        { "AddPgArchive: Zstd", "PgArchive:Zstd:Levle", "PgArchive.Compression.ZstdCompressorOptions: 'Levle'" },
        { "AddPgArchive: Brotli", "PgArchive:Brotli:Qualty", "PgArchive.Compression.BrotliCompressorOptions: 'Qualty'" },
        { "AddPgArchive: Lzma", "PgArchive:Lzma:FastByte", "PgArchive.Compression.LzmaCompressorOptions: 'FastByte'" },
        { "UseLibsodiumEncryption", "PgArchive:Libsodium:Kee", "PgArchive.Encryption.LibsodiumEncryptorOptions: 'Kee'" },
        { "UsePgpEncryption", "PgArchive:Pgp:KeyPth", "PgArchive.Encryption.PgpEncryptorOptions: 'KeyPth'" },
        { "AddWalReceiver", "PgArchive:WalReceiver:SlotNmae", "PgArchive.Streaming.WalReceiverOptions: 'SlotNmae'" },
    };

    [Theory]
    [MemberData(nameof(Spots))]
    public void Misspelt_key_fails_at_start_naming_it(string spot, string key, string named)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = "1" }).Build();
        var section = configuration.GetSection("PgArchive");
        var services = new ServiceCollection();
        var builder = services.AddPgArchive(section).UseInMemory();
        _ = spot switch
        {
            "UseLibsodiumEncryption" => builder.UseLibsodiumEncryption(section.GetSection("Libsodium")),
            "UsePgpEncryption" => builder.UsePgpEncryption(section.GetSection("Pgp")),
            "AddWalReceiver" => builder.AddWalReceiver(section.GetSection("WalReceiver")),
            _ => builder,
        };
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal($"'ErrorOnUnknownConfiguration' was set on the provided BinderOptions, but the following properties were not found on the instance of {named}", ex.Message);
    }
}
