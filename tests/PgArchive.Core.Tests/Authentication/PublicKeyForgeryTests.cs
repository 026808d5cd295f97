using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.Compression;
using PgArchive.Encryption;
using PgArchive.Storage;
using PgArchive.Support;
using PgArchive.Wal;

namespace PgArchive.Authentication;

/// <summary>
/// OpenPGP encrypts to a public key, which whoever archives holds: without authentication, a bucket writer with that key
/// can put in a segment of its own making. With authentication on, such a segment is refused even when it is padded to
/// the recorded size and the decoders stop at its end before reading the padding: the stored bytes are read to their
/// end before the content counts as complete.
/// </summary>
public sealed class PublicKeyForgeryTests(GpgHome gpg) : IClassFixture<GpgHome>, IDisposable
{
    private const string Name = "000000010000000000000006";
    private readonly string _pgWal = Directory.CreateTempSubdirectory("pgarchive-pgp-auth-").FullName;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_pgWal, recursive: true);

    [Fact]
    public async Task A_segment_encrypted_to_the_public_key_and_padded_to_the_recorded_size_is_refused()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory()
            .UsePgpEncryption(o => (o.Key, o.Passphrase) = (gpg.Rsa.ArmoredSecret, GpgHome.Passphrase))
            .UseArchiveAuthentication(o => (o.Key, o.KeyTransform) = (Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), LibsodiumKeyTransform.Hex));
        await using var provider = services.BuildServiceProvider();
        var archiver = provider.GetRequiredService<WalArchiver>();
        var raw = provider.GetRequiredService<InMemoryObjectStore>();
        var source = Path.Combine(_pgWal, Name);
        await File.WriteAllBytesAsync(source, WalSegments.Create(Name, RandomNumberGenerator.GetBytes), Token);
        var key = (await archiver.PushAsync(source, Token)).Key;
        var stored = raw.GetBytes(key);

        var forged = await Codecs.EncryptAsync(new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Rsa.ArmoredPublic }),
            await Codecs.CompressAsync(new Lz4Compressor(), WalSegments.Filled(Name, 9)));
        Assert.True(forged.Length < stored.Length);
        await raw.PutAsync(key, new MemoryStream([.. forged, .. new byte[stored.Length - forged.Length]]), cancellationToken: Token);
        var destination = Path.Combine(_pgWal, "RECOVERYXLOG");

        var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => archiver.FetchAsync(Name, destination, Token));

        Assert.Equal(AuthenticationFailure.ContentDiffers, ex.Failure);
        Assert.False(File.Exists(destination));
    }
}
