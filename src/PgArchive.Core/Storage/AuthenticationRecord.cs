using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using PgArchive.Authentication;

namespace PgArchive.Storage;

/// <summary>
/// The sidecar <see cref="AuthenticatingObjectStore"/> stores beside each object, under <c>pgarchive_auth/&lt;key&gt;</c>:
/// the size and SHA-256 of the object's stored bytes and an HMAC-SHA256 over the object's key, size and SHA-256
/// (<see cref="ArchiveAuthenticationKey"/>). A small JSON object:
/// <c>{"version": 1, "algorithm": "HMAC-SHA256", "size": N, "sha256": "hex", "mac": "hex"}</c>.
/// </summary>
internal sealed class AuthenticationRecord
{
    /// <summary>The only version written and read.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The MAC's algorithm, as recorded.</summary>
    public const string CurrentAlgorithm = "HMAC-SHA256";

    /// <summary>A record is a few hundred bytes; anything longer is not one.</summary>
    public const int MaximumLength = 4096;

    [JsonPropertyName("version")]
    public int Version { get; set; }

    [JsonPropertyName("algorithm")]
    public string Algorithm { get; set; } = "";

    [JsonPropertyName("size")]
    public long Size { get; set; }

    [JsonPropertyName("sha256")]
    public string Sha256 { get; set; } = "";

    [JsonPropertyName("mac")]
    public string Mac { get; set; } = "";

    /// <summary>The record of <paramref name="objectKey"/> holding <paramref name="size"/> bytes whose SHA-256 is <paramref name="sha256"/>, as JSON.</summary>
    public static byte[] Create(ArchiveAuthenticationKey authenticationKey, string objectKey, long size, ReadOnlySpan<byte> sha256) =>
        JsonSerializer.SerializeToUtf8Bytes(new AuthenticationRecord
        {
            Version = CurrentVersion,
            Algorithm = CurrentAlgorithm,
            Size = size,
            Sha256 = Convert.ToHexStringLower(sha256),
            Mac = Convert.ToHexStringLower(authenticationKey.Sign(objectKey, size, sha256)),
        }, AuthenticationJsonContext.Default.AuthenticationRecord);

    /// <summary>
    /// The size and SHA-256 that the stored record <paramref name="json"/> authenticates for <paramref name="objectKey"/>.
    /// </summary>
    /// <exception cref="ObjectNotAuthenticatedException">The record is not one PgArchive writes, or its MAC does not verify.</exception>
    public static (long Size, byte[] Sha256) Verify(ArchiveAuthenticationKey authenticationKey, string objectKey, ReadOnlySpan<byte> json)
    {
        AuthenticationRecord? record;
        byte[] sha256, mac;
        try
        {
            record = JsonSerializer.Deserialize(json, AuthenticationJsonContext.Default.AuthenticationRecord);
            if (record is not { Version: CurrentVersion, Algorithm: CurrentAlgorithm, Size: >= 0, Sha256.Length: 64, Mac.Length: 64 })
            {
                throw new ObjectNotAuthenticatedException(objectKey, AuthenticationFailure.SidecarUnreadable);
            }

            sha256 = Convert.FromHexString(record.Sha256);
            mac = Convert.FromHexString(record.Mac);
            if (record.Sha256 != Convert.ToHexStringLower(sha256) || record.Mac != Convert.ToHexStringLower(mac))
            {
                throw new ObjectNotAuthenticatedException(objectKey, AuthenticationFailure.SidecarUnreadable); // only the form written is read
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            throw new ObjectNotAuthenticatedException(objectKey, AuthenticationFailure.SidecarUnreadable);
        }

        if (!CryptographicOperations.FixedTimeEquals(mac, authenticationKey.Sign(objectKey, record.Size, sha256)))
        {
            throw new ObjectNotAuthenticatedException(objectKey, AuthenticationFailure.MacMismatch);
        }

        return (record.Size, sha256);
    }
}

/// <summary>Source-generated JSON of <see cref="AuthenticationRecord"/>: trimming- and AOT-safe.</summary>
[JsonSerializable(typeof(AuthenticationRecord))]
internal sealed partial class AuthenticationJsonContext : JsonSerializerContext;
