using PgArchive.IO;

namespace PgArchive.Encryption;

/// <summary>No encryption: bytes pass through unchanged.</summary>
public sealed class NoEncryptor : IEncryptor
{
    /// <inheritdoc />
    public string KeyIdentity => "none";

    /// <inheritdoc />
    public Stream CreateEncryptionStream(Stream destination, bool leaveOpen = false) => PassThroughStream.Wrap(destination, leaveOpen);

    /// <inheritdoc />
    public Stream CreateDecryptionStream(Stream source, bool leaveOpen = false) => PassThroughStream.Wrap(source, leaveOpen);
}
