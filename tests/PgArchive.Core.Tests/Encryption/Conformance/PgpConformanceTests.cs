using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;
using PgArchive.Support;

namespace PgArchive.Encryption.Conformance;

/// <summary>OpenPGP, with a curve key (the other key: an RSA one), meets the encryptor contract.</summary>
public sealed class PgpConformanceTests(GpgHome gpg) : EncryptorConformanceTests<PgpEncryptor>, IClassFixture<GpgHome>
{
    // Known cost of BouncyCastle, measured: encrypting allocates about one new array per 64 KiB partial packet (1 byte
    // per byte), decrypting about 5 bytes per byte; garbage the GC frees at once, not memory held (smaller packets make
    // decrypting allocate more). The check holds it to that.
    protected override (double Encrypting, double Decrypting) AllocatedPerByte => (1.1, 5.5);

    protected override string? SecretKeyText => gpg.Curve.ArmoredSecret;

    protected override void Use(IPgArchiveBuilder builder, bool otherKey) =>
        builder.UsePgpEncryption(o => (o.Key, o.Passphrase) = otherKey ? (gpg.Rsa.ArmoredSecret, GpgHome.Passphrase) : (gpg.Curve.ArmoredSecret, null));
}
