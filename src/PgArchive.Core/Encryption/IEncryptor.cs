namespace PgArchive.Encryption;

/// <summary>
/// Encrypts what is written to storage and decrypts what is read back. WAL-G marks encryption nowhere:
/// the reader must be configured with the same key. Keys never appear in messages or logs.
/// </summary>
public interface IEncryptor
{
    /// <summary>A write-only stream that encrypts into <paramref name="destination"/>; disposing it seals the end.</summary>
    Stream CreateEncryptionStream(Stream destination, bool leaveOpen = false);

    /// <summary>A read-only stream of the plaintext of <paramref name="source"/>; fails on tampered or truncated input.</summary>
    Stream CreateDecryptionStream(Stream source, bool leaveOpen = false);
}
