using System.Text;

namespace PgArchive.Encryption;

/// <summary>Reads the 32-byte libsodium key from the options exactly as WAL-G does. Messages never contain key material.</summary>
internal static class LibsodiumKey
{
    public const int Size = 32;
    private const int MinimumLegacyLength = 25;

    /// <summary>The key, or a <see cref="PgArchiveConfigurationException"/> naming the setting that is wrong.</summary>
    public static byte[] Load(LibsodiumEncryptorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string text;
        string setting;
        if (!string.IsNullOrEmpty(options.Key))
        {
            text = options.Key;
            setting = "WALG_LIBSODIUM_KEY";
        }
        else if (!string.IsNullOrEmpty(options.KeyPath))
        {
            setting = "WALG_LIBSODIUM_KEY_PATH";
            try
            {
                text = File.ReadAllText(options.KeyPath).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new PgArchiveConfigurationException(
                    $"Cannot read the libsodium key file '{options.KeyPath}' (WALG_LIBSODIUM_KEY_PATH): " + ex switch
                    {
                        FileNotFoundException or DirectoryNotFoundException => "it does not exist.",
                        UnauthorizedAccessException => "permission denied.",
                        _ => "it is not a readable file.",
                    }, ex);
            }
        }
        else
        {
            throw new PgArchiveConfigurationException(
                "Libsodium encryption needs a key: set WALG_LIBSODIUM_KEY (PgArchive:Libsodium:Key) or WALG_LIBSODIUM_KEY_PATH (PgArchive:Libsodium:KeyPath).");
        }

        return options.KeyTransform switch
        {
            LibsodiumKeyTransform.None => Legacy(text, setting),
            LibsodiumKeyTransform.Base64 => Exact(Decode(text, setting, "base64", Convert.FromBase64String), setting),
            LibsodiumKeyTransform.Hex => Exact(Decode(text, setting, "hex", Convert.FromHexString), setting),
            _ => throw new PgArchiveConfigurationException(
                $"WALG_LIBSODIUM_KEY_TRANSFORM (PgArchive:Libsodium:KeyTransform) must be none, base64 or hex, not {(int)options.KeyTransform}."),
        };
    }

    private static byte[] Legacy(string text, string setting)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length < MinimumLegacyLength)
        {
            throw new PgArchiveConfigurationException(
                $"The libsodium key in {setting} is {bytes.Length} bytes long; with WALG_LIBSODIUM_KEY_TRANSFORM=none it must be at least {MinimumLegacyLength} " +
                "(better: a random 32-byte key from `openssl rand -hex 32` with WALG_LIBSODIUM_KEY_TRANSFORM=hex).");
        }

        var key = new byte[Size];
        bytes.AsSpan(0, Math.Min(bytes.Length, Size)).CopyTo(key);
        Array.Clear(bytes);
        return key;
    }

    private static byte[] Decode(string text, string setting, string transform, Func<string, byte[]> decode)
    {
        try
        {
            return decode(text);
        }
        catch (FormatException)
        {
            // The decoder's message could quote the key: keep it out.
            throw new PgArchiveConfigurationException(
                $"The libsodium key in {setting} is not valid {transform} (WALG_LIBSODIUM_KEY_TRANSFORM={transform}).");
        }
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
