using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using PgArchive.Encryption;

namespace PgArchive.Authentication;

/// <summary>
/// The secret that authenticates an archive: every object's name, size and SHA-256 are signed with HMAC-SHA256 under
/// it (<see cref="Storage.AuthenticatingObjectStore"/>). At least <see cref="MinimumSize"/> bytes. It is never logged nor
/// put in a message; <see cref="Identity"/> names it without revealing it.
/// </summary>
public sealed class ArchiveAuthenticationKey
{
    /// <summary>The fewest bytes a key may have: HMAC-SHA256's full strength.</summary>
    public const int MinimumSize = 32;

    private const string MessagePrefix = "pgarchive-auth-v1\n";

    /// <summary>The settings a key given as text comes from.</summary>
    internal static readonly KeySettings Settings = new(
        "authentication key", "PGARCHIVE_AUTH_KEY", "PGARCHIVE_AUTH_KEY_PATH", "PGARCHIVE_AUTH_KEY_TRANSFORM", "PgArchive:Authentication:KeyTransform");

    private static readonly byte[] DerivationInfo = "pgarchive archive authentication key v1"u8.ToArray();
    private static readonly byte[] IdentityMessage = "pgarchive authentication key identity"u8.ToArray();

    private readonly byte[] _key;

    /// <summary>Creates the key from its bytes (at least <see cref="MinimumSize"/>).</summary>
    public ArchiveAuthenticationKey(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinimumSize)
        {
            throw new ArgumentException($"An archive authentication key is at least {MinimumSize} bytes, not {key.Length}.", nameof(key));
        }

        _key = key.ToArray();
        Identity = "hmac-sha256:" + Convert.ToHexStringLower(HMACSHA256.HashData(_key, IdentityMessage).AsSpan(0, 16));
    }

    /// <summary>
    /// Names the key without revealing it (an HMAC of a fixed text under it, truncated): two keys with the same identity
    /// authenticate the same objects. Archive settings hashes (wal-push's markers) include it.
    /// </summary>
    public string Identity { get; }

    /// <summary>
    /// The key <paramref name="options"/> give: read from <see cref="ArchiveAuthenticationOptions.Key"/> or
    /// <see cref="ArchiveAuthenticationOptions.KeyPath"/>, or derived from the libsodium key in <paramref name="libsodium"/>
    /// (pass it only when the archive is encrypted with libsodium).
    /// </summary>
    /// <exception cref="PgArchiveConfigurationException">The key is missing, unreadable, too short, or cannot be derived; the message names the setting.</exception>
    public static ArchiveAuthenticationKey Load(ArchiveAuthenticationOptions options, LibsodiumEncryptorOptions? libsodium = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var given = KeyText.Read(options.Key, options.KeyPath, Settings);
        if (options.DeriveFromEncryptionKey)
        {
            if (given is not null)
            {
                throw new PgArchiveConfigurationException(
                    "Give the authentication key one way: PGARCHIVE_AUTH_KEY or PGARCHIVE_AUTH_KEY_PATH (PgArchive:Authentication:Key, KeyPath), " +
                    "or derive it from the libsodium key (PgArchive:Authentication:DeriveFromEncryptionKey), not both.");
            }

            if (libsodium is null)
            {
                throw new PgArchiveConfigurationException(
                    "Archive authentication derived from the encryption key (PGARCHIVE_AUTHENTICATE=true, PgArchive:Authentication:DeriveFromEncryptionKey) " +
                    "needs libsodium encryption (WALG_LIBSODIUM_KEY or WALG_LIBSODIUM_KEY_PATH); otherwise set PGARCHIVE_AUTH_KEY or PGARCHIVE_AUTH_KEY_PATH.");
            }

            var encryptionKey = LibsodiumKey.Load(libsodium);
            try
            {
                return new ArchiveAuthenticationKey(HKDF.DeriveKey(HashAlgorithmName.SHA256, encryptionKey, 32, [], DerivationInfo));
            }
            finally
            {
                Array.Clear(encryptionKey);
            }
        }

        var (text, setting) = given ?? throw new PgArchiveConfigurationException(
            "Archive authentication needs a key: set PGARCHIVE_AUTH_KEY (PgArchive:Authentication:Key) or PGARCHIVE_AUTH_KEY_PATH " +
            "(PgArchive:Authentication:KeyPath), or PGARCHIVE_AUTHENTICATE=true to derive it from the libsodium key.");
        var bytes = KeyText.Decode(text, setting, options.KeyTransform, Settings);
        try
        {
            if (bytes.Length < MinimumSize)
            {
                throw new PgArchiveConfigurationException(
                    $"The authentication key in {setting} is {bytes.Length} bytes long; it must be at least {MinimumSize} " +
                    "(a random key from `openssl rand -hex 32` with PGARCHIVE_AUTH_KEY_TRANSFORM=hex).");
            }

            return new ArchiveAuthenticationKey(bytes);
        }
        finally
        {
            Array.Clear(bytes);
        }
    }

    /// <summary>
    /// HMAC-SHA256 under this key of <c>"pgarchive-auth-v1\n" + key + "\n" + size + "\n" + sha256 (lower-case hex)</c>:
    /// binding the object's name makes a renamed object or a swapped pair fail, as well as any other content.
    /// </summary>
    internal byte[] Sign(string objectKey, long size, ReadOnlySpan<byte> sha256)
    {
        var message = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{MessagePrefix}{objectKey}\n{size}\n{Convert.ToHexStringLower(sha256)}"));
        return HMACSHA256.HashData(_key, message);
    }
}
