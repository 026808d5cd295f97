using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Compression;
using PgArchive.Daemon;
using PgArchive.Encryption;
using PgArchive.Streaming;
using PgArchive.Testing;

namespace PgArchive.DependencyInjection;

/// <summary>Every Core overload that binds an <see cref="IConfiguration"/> refuses a key its options do not have, at start, naming it.</summary>
public sealed class UnknownConfigurationKeyTests
{
    private static void Fails<TOptions>(string key, Func<IPgArchiveBuilder, IConfigurationSection, IPgArchiveBuilder> use) =>
        ConfigurationAssert.MisspeltKeyFailsAtStart<TOptions>(
            new Dictionary<string, string?> { ["PgArchive:" + key] = "1" },
            (services, configuration) => use(services.AddPgArchive(configuration.GetSection("PgArchive")).UseInMemory(), configuration.GetSection("PgArchive")),
            key[(key.IndexOf(':', StringComparison.Ordinal) + 1)..]);

    [Fact]
    public void AddPgArchive_refuses_a_misspelt_zstd_key() => Fails<ZstdCompressorOptions>("Zstd:Levle", (b, _) => b);

    [Fact]
    public void AddPgArchive_refuses_a_misspelt_brotli_key() => Fails<BrotliCompressorOptions>("Brotli:Qualty", (b, _) => b);

    [Fact]
    public void AddPgArchive_refuses_a_misspelt_lzma_key() => Fails<LzmaCompressorOptions>("Lzma:FastByte", (b, _) => b);

    [Fact]
    public void UseLibsodiumEncryption_refuses_a_misspelt_key() =>
        Fails<LibsodiumEncryptorOptions>("Libsodium:Kee", (b, s) => b.UseLibsodiumEncryption(s.GetSection("Libsodium")));

    [Fact]
    public void UsePgpEncryption_refuses_a_misspelt_key() =>
        Fails<PgpEncryptorOptions>("Pgp:KeyPth", (b, s) => b.UsePgpEncryption(s.GetSection("Pgp")));

    [Fact]
    public void AddWalReceiver_refuses_a_misspelt_key() =>
        Fails<WalReceiverOptions>("WalReceiver:SlotNmae", (b, s) => b.AddWalReceiver(s.GetSection("WalReceiver")));

    [Fact]
    public void AddWalDaemon_refuses_a_misspelt_key() =>
        Fails<WalDaemonOptions>("WalDaemon:SocketPat", (b, s) => b.AddWalDaemon(s.GetSection("WalDaemon")));
}
