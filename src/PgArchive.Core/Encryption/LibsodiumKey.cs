namespace PgArchive.Encryption;

/// <summary>Reads the 32-byte libsodium key from the options exactly as WAL-G does. Messages never contain key material.</summary>
internal static class LibsodiumKey
{
    public const int Size = 32;
    private const int MinimumLegacyLength = 25;

    /// <summary>The settings the key comes from.</summary>
    public static readonly KeySettings Settings = new(
        "libsodium key", "WALG_LIBSODIUM_KEY", "WALG_LIBSODIUM_KEY_PATH", "WALG_LIBSODIUM_KEY_TRANSFORM", "PgArchive:Libsodium:KeyTransform");

    /// <summary>The key, or a <see cref="PgArchiveConfigurationException"/> naming the setting that is wrong.</summary>
    public static byte[] Load(LibsodiumEncryptorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (text, setting) = KeyText.Read(options.Key, options.KeyPath, Settings)
            ?? throw new PgArchiveConfigurationException(
                "Libsodium encryption needs a key: set WALG_LIBSODIUM_KEY (PgArchive:Libsodium:Key) or WALG_LIBSODIUM_KEY_PATH (PgArchive:Libsodium:KeyPath).");
        var bytes = KeyText.Decode(text, setting, options.KeyTransform, Settings);
        return options.KeyTransform == LibsodiumKeyTransform.None ? Legacy(bytes, setting) : Exact(bytes, setting);
    }

    private static byte[] Legacy(byte[] bytes, string setting)
    {
        if (bytes.Length < MinimumLegacyLength)
        {
            var length = bytes.Length;
            Array.Clear(bytes);
            throw new PgArchiveConfigurationException(
                $"The libsodium key in {setting} is {length} bytes long; with WALG_LIBSODIUM_KEY_TRANSFORM=none it must be at least {MinimumLegacyLength} " +
                "(better: a random 32-byte key from `openssl rand -hex 32` with WALG_LIBSODIUM_KEY_TRANSFORM=hex).");
        }

        var key = new byte[Size];
        bytes.AsSpan(0, Math.Min(bytes.Length, Size)).CopyTo(key);
        Array.Clear(bytes);
        return key;
    }

    private static byte[] Exact(byte[] key, string setting)
    {
        if (key.Length != Size)
        {
            var length = key.Length;
            Array.Clear(key);
            throw new PgArchiveConfigurationException(
                $"The libsodium key in {setting} decodes to {length} bytes; it must be exactly {Size} bytes.");
        }

        return key;
    }
}
