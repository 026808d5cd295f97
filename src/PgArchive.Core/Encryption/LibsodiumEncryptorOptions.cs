namespace PgArchive.Encryption;

/// <summary>
/// Settings of <see cref="LibsodiumEncryptor"/>, bindable from configuration (section <c>PgArchive:Libsodium</c>).
/// The key is a secret: it is never logged nor put in an exception message.
/// </summary>
public sealed class LibsodiumEncryptorOptions
{
    /// <summary>
    /// The key (<c>WALG_LIBSODIUM_KEY</c>), read through <see cref="KeyTransform"/>. Takes precedence over
    /// <see cref="KeyPath"/> when both are set, as in WAL-G.
    /// </summary>
    public string? Key { get; set; }

    /// <summary>
    /// A file holding the key (<c>WALG_LIBSODIUM_KEY_PATH</c>); surrounding whitespace is trimmed, then
    /// <see cref="KeyTransform"/> applies.
    /// </summary>
    public string? KeyPath { get; set; }

    /// <summary>
    /// How the key text becomes the 32-byte key (<c>WALG_LIBSODIUM_KEY_TRANSFORM</c>).
    /// <value>Default <see cref="LibsodiumKeyTransform.None"/>, as WAL-G.</value>
    /// </summary>
    public LibsodiumKeyTransform KeyTransform { get; set; } = LibsodiumKeyTransform.None;
}

/// <summary>How a libsodium key given as text becomes the 32-byte key (<c>WALG_LIBSODIUM_KEY_TRANSFORM</c>).</summary>
public enum LibsodiumKeyTransform
{
    /// <summary>
    /// The text's UTF-8 bytes, WAL-G's legacy rule: fewer than 25 bytes is an error, more than 32 are cut to 32,
    /// fewer than 32 are padded with zero bytes.
    /// </summary>
    None,

    /// <summary>Standard base64 that decodes to exactly 32 bytes (<c>openssl rand -base64 32</c>).</summary>
    Base64,

    /// <summary>Hexadecimal that decodes to exactly 32 bytes (<c>openssl rand -hex 32</c>).</summary>
    Hex,
}
