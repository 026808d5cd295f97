namespace PgArchive.Encryption;

/// <summary>
/// Settings of <see cref="PgpEncryptor"/>, bindable from configuration (section <c>PgArchive:Pgp</c>). The key
/// and passphrase are secrets: they are never logged nor put in an exception message.
/// </summary>
/// <remarks>
/// As in WAL-G: archiving needs only the public key; restoring needs the secret key (which contains the public
/// one), and its passphrase when it has one. WAL-E's <c>WALE_GPG_KEY_ID</c> (a key id in the gpg keyring) maps to
/// <see cref="KeyPath"/> pointing at that key exported with <c>gpg --export-secret-keys --armor KEYID</c> (or
/// <c>gpg --export --armor KEYID</c> for archiving only).
/// </remarks>
public sealed class PgpEncryptorOptions
{
    /// <summary>
    /// The ASCII-armored OpenPGP key, public or secret (<c>WALG_PGP_KEY</c>). Literal <c>\n</c> sequences stand for
    /// newlines, so that the key fits on one line (envdir, daemontools). Takes precedence over <see cref="KeyPath"/>.
    /// </summary>
    public string? Key { get; set; }

    /// <summary>A file holding the OpenPGP key, armored or binary (<c>WALG_PGP_KEY_PATH</c>).</summary>
    public string? KeyPath { get; set; }

    /// <summary>The passphrase of the secret key, when it has one (<c>WALG_PGP_KEY_PASSPHRASE</c>).</summary>
    public string? Passphrase { get; set; }
}
