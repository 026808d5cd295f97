using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PgArchive.Streaming.Protocol;

/// <summary>
/// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL runs it: no channel binding (<c>n,,</c>),
/// an empty user name (the server takes the start-up message's), the password SASLprep-normalised (NFKC) when that
/// leaves it unchanged in meaning, else used as given, as libpq does.
/// </summary>
internal sealed class ScramSha256Client
{
    private const string Gs2Header = "n,,";
    private readonly string _password;
    private readonly string _clientNonce;
    private string? _clientFirstBare;
    private byte[]? _saltedPassword;
    private string? _authMessage;

    public ScramSha256Client(string password, string? clientNonce = null)
    {
        _password = password;
        _clientNonce = clientNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
    }

    /// <summary>client-first-message: <c>n,,n=,r=&lt;nonce&gt;</c>.</summary>
    public byte[] ClientFirstMessage()
    {
        _clientFirstBare = "n=,r=" + _clientNonce;
        return Encoding.UTF8.GetBytes(Gs2Header + _clientFirstBare);
    }

    /// <summary>client-final-message for the server-first-message <paramref name="serverFirst"/>.</summary>
    public byte[] ClientFinalMessage(ReadOnlySpan<byte> serverFirst)
    {
        var text = Encoding.UTF8.GetString(serverFirst);
        var attributes = text.Split(',').Where(a => a.Length > 2 && a[1] == '=').ToDictionary(a => a[0], a => a[2..]);
        if (!attributes.TryGetValue('r', out var nonce) || !nonce.StartsWith(_clientNonce, StringComparison.Ordinal) ||
            !attributes.TryGetValue('s', out var salt) || !attributes.TryGetValue('i', out var iterationText) ||
            !int.TryParse(iterationText, NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            throw new PgArchiveException("The server's SCRAM-SHA-256 challenge is malformed (nonce, salt or iteration count).");
        }

        _saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(Normalize(_password)), Convert.FromBase64String(salt), iterations,
            HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(_saltedPassword, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var finalWithoutProof = "c=" + Convert.ToBase64String(Encoding.ASCII.GetBytes(Gs2Header)) + ",r=" + nonce;
        _authMessage = _clientFirstBare + "," + text + "," + finalWithoutProof;
        var signature = HMACSHA256.HashData(storedKey, Encoding.UTF8.GetBytes(_authMessage));
        for (var i = 0; i < clientKey.Length; i++)
        {
            clientKey[i] ^= signature[i];
        }

        return Encoding.UTF8.GetBytes(finalWithoutProof + ",p=" + Convert.ToBase64String(clientKey));
    }

    /// <summary>True when the server-final-message proves the server knows the password's verifier.</summary>
    public bool VerifyServerFinal(ReadOnlySpan<byte> serverFinal)
    {
        var text = Encoding.UTF8.GetString(serverFinal);
        if (_saltedPassword is null || _authMessage is null || !text.StartsWith("v=", StringComparison.Ordinal))
        {
            return false;
        }

        var serverKey = HMACSHA256.HashData(_saltedPassword, "Server Key"u8);
        var expected = HMACSHA256.HashData(serverKey, Encoding.UTF8.GetBytes(_authMessage));
        byte[] given;
        try
        {
            given = Convert.FromBase64String(text[2..].Split(',')[0]);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private static string Normalize(string password)
    {
        try
        {
            return password.Normalize(NormalizationForm.FormKC);
        }
        catch (Exception ex) when (ex is ArgumentException or PlatformNotSupportedException)
        {
            return password;
        }
    }
}
