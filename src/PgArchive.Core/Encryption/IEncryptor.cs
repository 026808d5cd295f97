namespace PgArchive.Encryption;

/// <summary>
/// Encrypts what is written to storage and decrypts what is read back. WAL-G marks encryption nowhere:
/// the reader must be configured with the same key. Keys never appear in messages or logs.
/// </summary>
public interface IEncryptor
{
    /// <summary>
    /// Names the key objects are encrypted with, for checks that must not mix keys (backup-push --resume reuses only
    /// what the key in use now wrote). The contract: the same key always gives the same identity, across processes and
    /// versions; different keys give different identities; the identity never reveals the key (a fingerprint of a
    /// public key, or a domain-separated hash of a secret one); it starts with the method (<c>libsodium:</c>,
    /// <c>pgp:</c>); no encryption is <c>none</c>.
    /// </summary>
    string KeyIdentity { get; }

    /// <summary>A write-only stream that encrypts into <paramref name="destination"/>; disposing it seals the end.</summary>
    Stream CreateEncryptionStream(Stream destination, bool leaveOpen = false);

    /// <summary>A read-only stream of the plaintext of <paramref name="source"/>; fails on tampered or truncated input.</summary>
    Stream CreateDecryptionStream(Stream source, bool leaveOpen = false);
}
