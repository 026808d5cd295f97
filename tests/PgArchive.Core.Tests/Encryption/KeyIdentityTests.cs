using PgArchive.Support;

namespace PgArchive.Encryption;

/// <summary>
/// backup-push --resume reuses partitions only when they were encrypted with the key in use now: encryptors name
/// their key (libsodium by a truncated SHA-256, OpenPGP by the public key's fingerprint) without revealing it.
/// </summary>
public sealed class KeyIdentityTests(GpgHome gpg) : IClassFixture<GpgHome>
{
    [Fact]
    public void Libsodium_identity_tells_keys_apart_and_does_not_reveal_them()
    {
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var other = Enumerable.Range(2, 32).Select(i => (byte)i).ToArray();

        var identity = new LibsodiumEncryptor(key).KeyIdentity;

        Assert.Equal(identity, new LibsodiumEncryptor(key).KeyIdentity);
        Assert.NotEqual(identity, new LibsodiumEncryptor(other).KeyIdentity);
        Assert.StartsWith("libsodium:", identity, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexStringLower(key)[..16], identity, StringComparison.Ordinal);
    }

    [Fact]
    public void Pgp_identity_is_the_encryption_key_fingerprint_whether_the_secret_key_is_given_or_not()
    {
        var rsaSecret = new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Rsa.ArmoredSecret, Passphrase = GpgHome.Passphrase }).KeyIdentity;
        var rsaPublic = new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Rsa.ArmoredPublic }).KeyIdentity;
        var curve = new PgpEncryptor(new PgpEncryptorOptions { Key = gpg.Curve.ArmoredSecret }).KeyIdentity;

        Assert.Equal(rsaSecret, rsaPublic);
        Assert.NotEqual(rsaSecret, curve);
        Assert.Matches("^pgp:[0-9a-f]{40,}", rsaSecret);
    }
}
