using System.Text;

namespace PgArchive.Encryption;

/// <summary>
/// Where a key given as text comes from: its description and the settings that give it, to name them in messages
/// (which never hold key material).
/// </summary>
/// <param name="Description">What the key is, e.g. "libsodium key".</param>
/// <param name="KeySetting">The variable holding the key inline, e.g. <c>WALG_LIBSODIUM_KEY</c>.</param>
/// <param name="KeyPathSetting">The variable naming a file that holds it, e.g. <c>WALG_LIBSODIUM_KEY_PATH</c>.</param>
/// <param name="TransformSetting">The variable choosing the transform, e.g. <c>WALG_LIBSODIUM_KEY_TRANSFORM</c>.</param>
/// <param name="TransformOption">The option path of the transform, e.g. <c>PgArchive:Libsodium:KeyTransform</c>.</param>
internal sealed record KeySettings(string Description, string KeySetting, string KeyPathSetting, string TransformSetting, string TransformOption);

/// <summary>
/// Reads a key given inline or in a file and turns its text into bytes by its transform (none, base64, hex), as
/// WAL-G reads <c>WALG_LIBSODIUM_KEY</c>: shared by the libsodium key and the archive authentication key, which differ
/// only in the lengths they accept. Messages name the setting, never the key.
/// </summary>
internal static class KeyText
{
    /// <summary>
    /// The key's text and the setting it came from: the inline key wins over the file, whose content is trimmed;
    /// null when neither is set.
    /// </summary>
    public static (string Text, string Setting)? Read(string? key, string? keyPath, KeySettings settings)
    {
        if (!string.IsNullOrEmpty(key))
        {
            return (key, settings.KeySetting);
        }

        if (string.IsNullOrEmpty(keyPath))
        {
            return null;
        }

        return (ReadFile(keyPath, settings.Description, settings.KeyPathSetting, path => File.ReadAllText(path).Trim()), settings.KeyPathSetting);
    }

    /// <summary>
    /// Reads the key file <paramref name="path"/> with <paramref name="read"/>, turning the system's failure into a
    /// message that names the file and <paramref name="setting"/>.
    /// </summary>
    public static T ReadFile<T>(string path, string description, string setting, Func<string, T> read)
    {
        try
        {
            return read(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new PgArchiveConfigurationException(
                $"Cannot read the {description} file '{path}' ({setting}): " + ex switch
                {
                    FileNotFoundException or DirectoryNotFoundException => "it does not exist.",
                    UnauthorizedAccessException => "permission denied.",
                    _ => "it is not a readable file.",
                }, ex);
        }
    }

    /// <summary>The key's bytes: the text's UTF-8 bytes with <see cref="LibsodiumKeyTransform.None"/>, else the text decoded.</summary>
    public static byte[] Decode(string text, string setting, LibsodiumKeyTransform transform, KeySettings settings) => transform switch
    {
        LibsodiumKeyTransform.None => Encoding.UTF8.GetBytes(text),
        LibsodiumKeyTransform.Base64 => Decode(text, setting, "base64", Convert.FromBase64String, settings),
        LibsodiumKeyTransform.Hex => Decode(text, setting, "hex", Convert.FromHexString, settings),
        _ => throw new PgArchiveConfigurationException(
            $"{settings.TransformSetting} ({settings.TransformOption}) must be none, base64 or hex, not {(int)transform}."),
    };

    private static byte[] Decode(string text, string setting, string transform, Func<string, byte[]> decode, KeySettings settings)
    {
        try
        {
            return decode(text);
        }
        catch (FormatException)
        {
            // The decoder's message could quote the key: keep it out.
            throw new PgArchiveConfigurationException(
                $"The {settings.Description} in {setting} is not valid {transform} ({settings.TransformSetting}={transform}).");
        }
    }
}
