using PgArchive.Support;

namespace PgArchive.Encryption;

/// <summary>
/// backup-push --resume reuses partitions only when they were encrypted with the key in use now: encryptors name
/// their key without revealing it (the contract every encryptor meets is in the conformance suite); OpenPGP's is the
/// public key's fingerprint.
/// </summary>
public sealed class KeyIdentityTests(GpgHome gpg) : IClassFixture<GpgHome>
{
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
