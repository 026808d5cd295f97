using PgArchive.Encryption;

namespace PgArchive.Authentication;

/// <summary>
/// Settings of archive authentication (<see cref="Storage.AuthenticatingObjectStore"/>), bindable from configuration
/// (section <c>PgArchive:Authentication</c>). The key is a secret: it is never logged nor put in an exception message.
/// Give exactly one source: <see cref="Key"/> or <see cref="KeyPath"/>, or <see cref="DeriveFromEncryptionKey"/>.
/// </summary>
public sealed class ArchiveAuthenticationOptions
{
    /// <summary>
    /// The authentication key (<c>PGARCHIVE_AUTH_KEY</c>), read through <see cref="KeyTransform"/>: at least 32 bytes,
    /// used whole. Takes precedence over <see cref="KeyPath"/> when both are set.
    /// </summary>
    public string? Key { get; set; }

    /// <summary>
    /// A file holding the key (<c>PGARCHIVE_AUTH_KEY_PATH</c>); surrounding whitespace is trimmed, then
    /// <see cref="KeyTransform"/> applies.
    /// </summary>
    public string? KeyPath { get; set; }

    /// <summary>
    /// How the key text becomes bytes (<c>PGARCHIVE_AUTH_KEY_TRANSFORM</c>): the text's UTF-8 bytes, base64 or hex, as for
    /// the libsodium key; whichever, the key must be at least 32 bytes.
    /// <value>Default <see cref="LibsodiumKeyTransform.None"/>.</value>
    /// </summary>
    public LibsodiumKeyTransform KeyTransform { get; set; } = LibsodiumKeyTransform.None;

    /// <summary>
    /// Derive the authentication key from the libsodium encryption key (<c>PGARCHIVE_AUTHENTICATE=true</c>) instead of
    /// giving one: HKDF-SHA256 with an information string of its own, so the key that authenticates is never the key that
    /// encrypts. Needs libsodium encryption.
    /// <value>Default false.</value>
    /// </summary>
    public bool DeriveFromEncryptionKey { get; set; }
}
