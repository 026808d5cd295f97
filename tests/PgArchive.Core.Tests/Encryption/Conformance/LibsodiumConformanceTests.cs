using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;
using PgArchive.Support;

namespace PgArchive.Encryption.Conformance;

/// <summary>libsodium's secretstream, as WAL-G frames it, meets the encryptor contract.</summary>
public sealed class LibsodiumConformanceTests : EncryptorConformanceTests<LibsodiumEncryptor>
{
    private readonly string _key = Convert.ToHexString(Codecs.RandomKey());
    private readonly string _otherKey = Convert.ToHexString(Codecs.RandomKey());

    protected override string? SecretKeyText => _key;

    protected override void Use(IPgArchiveBuilder builder, bool otherKey) =>
        builder.UseLibsodiumEncryption(o => (o.Key, o.KeyTransform) = (otherKey ? _otherKey : _key, LibsodiumKeyTransform.Hex));
}
