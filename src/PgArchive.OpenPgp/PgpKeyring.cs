using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Bcpg.Sig;

namespace PgArchive.Encryption;

/// <summary>
/// The keys <see cref="PgpEncryptorOptions"/> name, read once: the public key(s) new objects are encrypted to
/// (each key ring's newest valid encryption-capable key, as gpg and WAL-G choose) and the secret keys that
/// decrypt. Messages never contain key material or the passphrase.
/// </summary>
internal sealed class PgpKeyring
{
    private const int EncryptionFlags = KeyFlags.EncryptComms | KeyFlags.EncryptStorage;
    private readonly Dictionary<long, PgpSecretKey> _secretKeys = [];
    private readonly ConcurrentDictionary<long, PgpPrivateKey> _privateKeys = new();
    private readonly char[]? _passphrase;

    private PgpKeyring(string setting, char[]? passphrase)
    {
        Setting = setting;
        _passphrase = passphrase;
    }

    /// <summary>The setting the key came from, for messages.</summary>
    public string Setting { get; }

    /// <summary>The keys new objects are encrypted to; empty when the key holds none.</summary>
    public IReadOnlyList<PgpPublicKey> EncryptionKeys { get; private set; } = [];

    /// <summary>True when a secret key is present, so objects can be decrypted.</summary>
    public bool CanDecrypt => _secretKeys.Count > 0;

    /// <summary>Reads the key the options name, or throws a <see cref="PgArchiveConfigurationException"/> naming the setting.</summary>
    public static PgpKeyring Load(PgpEncryptorOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        byte[] bytes;
        string setting;
        if (!string.IsNullOrEmpty(options.Key))
        {
            setting = "WALG_PGP_KEY";
            bytes = Encoding.UTF8.GetBytes(options.Key.Replace("\\n", "\n", StringComparison.Ordinal));
        }
        else if (!string.IsNullOrEmpty(options.KeyPath))
        {
            setting = "WALG_PGP_KEY_PATH";
            bytes = KeyText.ReadFile(options.KeyPath, "OpenPGP key", setting, File.ReadAllBytes);
        }
        else
        {
            throw new PgArchiveConfigurationException(
                "OpenPGP encryption needs a key: set WALG_PGP_KEY (PgArchive:Pgp:Key) or WALG_PGP_KEY_PATH (PgArchive:Pgp:KeyPath).");
        }

        var keyring = new PgpKeyring(setting, string.IsNullOrEmpty(options.Passphrase) ? null : options.Passphrase.ToCharArray());
        keyring.Read(bytes, time.GetUtcNow().UtcDateTime);
        return keyring;
    }

    private void Read(byte[] bytes, DateTime now)
    {
        var rings = new List<IEnumerable<PgpPublicKey>>();
        try
        {
            using var decoder = PgpUtilities.GetDecoderStream(new MemoryStream(bytes, writable: false));
            var factory = new PgpObjectFactory(decoder);
            while (factory.NextPgpObject() is { } item)
            {
                switch (item)
                {
                    case PgpPublicKeyRing publicRing:
                        rings.Add(publicRing.GetPublicKeys());
                        break;
                    case PgpSecretKeyRing secretRing:
                        rings.Add(secretRing.GetPublicKeys());
                        foreach (var secret in secretRing.GetSecretKeys().Where(k => !k.IsPrivateKeyEmpty))
                        {
                            _secretKeys[secret.KeyId] = secret;
                        }

                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or PgpException)
        {
            throw new PgArchiveConfigurationException($"{Setting} is not a readable OpenPGP key ({ex.GetType().Name}); export one with gpg --export-secret-keys --armor KEYID.", ex);
        }

        if (rings.Count == 0)
        {
            throw new PgArchiveConfigurationException($"{Setting} holds no OpenPGP key; export one with gpg --export-secret-keys --armor KEYID.");
        }

        EncryptionKeys = [.. rings.Select(ring => PickEncryptionKey([.. ring], now)).OfType<PgpPublicKey>()];
        if (EncryptionKeys.Count == 0 && _secretKeys.Count == 0)
        {
            throw new PgArchiveConfigurationException($"{Setting} holds neither a key that can encrypt nor a secret key.");
        }

        if (_passphrase is not null)
        {
            // As WAL-G: a passphrase that is given must unlock the secret keys, checked up front.
            foreach (var id in _secretKeys.Keys)
            {
                PrivateKey(id);
            }
        }
    }

    /// <summary>The newest valid key of a ring flagged for encryption (subkeys before the primary), or null.</summary>
    private static PgpPublicKey? PickEncryptionKey(List<PgpPublicKey> ring, DateTime now)
    {
        var primary = ring.FirstOrDefault(k => k.IsMasterKey);
        if (primary is null || primary.HasRevocation() || Expired(primary, now))
        {
            return null;
        }

        return ring
            .Where(k => k.IsEncryptionKey && !k.HasRevocation() && !Expired(k, now) && CanEncrypt(k, primary.KeyId))
            .OrderBy(k => k.IsMasterKey)
            .ThenByDescending(k => k.CreationTime)
            .FirstOrDefault();
    }

    private static bool Expired(PgpPublicKey key, DateTime now)
    {
        var seconds = key.GetValidSeconds();
        return seconds > 0 && key.CreationTime.AddSeconds(seconds) <= now;
    }

    /// <summary>What the key's self-signatures say about its use; a key without key flags goes by its algorithm.</summary>
    private static bool CanEncrypt(PgpPublicKey key, long primaryId)
    {
        var flags = key.GetSignatures()
            .Where(s => s.KeyId == primaryId && s.HasSubpackets)
            .Select(s => s.GetHashedSubPackets())
            .Where(p => p.HasSubpacket(SignatureSubpacketTag.KeyFlags))
            .Select(p => p.GetKeyFlags())
            .ToList();
        return flags.Count == 0 || flags.Any(f => (f & EncryptionFlags) != 0);
    }

    /// <summary>True when a secret key with this id is present (0, a hidden recipient, matches any).</summary>
    public bool HasSecretKey(long keyId) => keyId == 0 ? _secretKeys.Count > 0 : _secretKeys.ContainsKey(keyId);

    /// <summary>The ids of the secret keys, for trying a hidden recipient.</summary>
    public IEnumerable<long> SecretKeyIds => _secretKeys.Keys;

    /// <summary>The unlocked private key of a present secret key.</summary>
    /// <exception cref="PgArchiveConfigurationException">The key is passphrase-protected and the passphrase is missing or wrong.</exception>
    public PgpPrivateKey PrivateKey(long keyId) => _privateKeys.GetOrAdd(keyId, id =>
    {
        var secret = _secretKeys[id];
        try
        {
            return secret.ExtractPrivateKeyUtf8(_passphrase ?? []);
        }
        catch (PgpException ex)
        {
            throw new PgArchiveConfigurationException(_passphrase is null
                ? $"The secret key {FormatId(id)} in {Setting} is passphrase-protected: set WALG_PGP_KEY_PASSPHRASE."
                : $"WALG_PGP_KEY_PASSPHRASE does not unlock the secret key {FormatId(id)} in {Setting}.", ex);
        }
    });

    /// <summary>A key id as gpg prints it (16 hex digits).</summary>
    public static string FormatId(long keyId) => keyId.ToString("X16", CultureInfo.InvariantCulture);
}
