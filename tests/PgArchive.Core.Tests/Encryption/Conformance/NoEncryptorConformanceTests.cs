using PgArchive.DependencyInjection;

namespace PgArchive.Encryption.Conformance;

/// <summary>No encryption passes bytes through: nothing to authenticate, one identity ("none"), the rest of the contract holds.</summary>
public sealed class NoEncryptorConformanceTests : EncryptorConformanceTests<NoEncryptor>
{
    protected override bool Authenticates => false;

    protected override string? SecretKeyText => null;

    protected override void Use(IPgArchiveBuilder builder, bool otherKey)
    {
    }
}
