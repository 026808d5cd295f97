using K4os.Compression.LZ4.Streams;
using PgArchive.Support;
using ZstdSharp;

namespace PgArchive.Compatibility.WalG.Oracle;

/// <summary>
/// How WAL-G turns a stored object into plain bytes and back: decrypt with the configured crypter, then decompress
/// by the object's extension (<c>internal/extract.go</c> DecryptAndDecompressTar, <c>internal/compression</c>
/// FindDecompressor); writing compresses, then encrypts (<c>internal/compress_and_encrypt.go</c>). Nothing marks an
/// object encrypted: the reader must be configured. The work is done by tools and libraries that are not PgArchive:
/// libsodium's secretstream through python3-nacl in WAL-G's framing (<c>Interop/walg_secretstream.py</c>), gpg,
/// K4os' LZ4 frame streams, the <c>lz4</c> tool and ZstdSharp.
/// </summary>
public sealed class OracleCodec
{
    private static readonly string SecretStream = Path.Combine(AppContext.BaseDirectory, "Interop", "walg_secretstream.py");
    private readonly string? _libsodiumKeyHex;
    private readonly GpgHome? _gpg;
    private readonly string? _gpgPassphrase;

    private OracleCodec(string? libsodiumKeyHex, GpgHome? gpg, string? gpgPassphrase)
    {
        _libsodiumKeyHex = libsodiumKeyHex;
        _gpg = gpg;
        _gpgPassphrase = gpgPassphrase;
    }

    /// <summary>No encryption.</summary>
    public static OracleCodec Plain { get; } = new(null, null, null);

    /// <summary>WALG_LIBSODIUM_KEY (32 bytes, hex).</summary>
    public static OracleCodec Libsodium(string keyHex) => new(keyHex, null, null);

    /// <summary>WALG_PGP_KEY: a key of <paramref name="gpg"/>'s home.</summary>
    public static OracleCodec Pgp(GpgHome gpg, string? passphrase) => new(null, gpg, passphrase);

    /// <summary>The libsodium key, hex, for the WAL-push script; null without libsodium.</summary>
    public string? LibsodiumKeyHex => _libsodiumKeyHex;

    /// <summary>Reads the object at <paramref name="path"/> as WAL-G's reader does: decrypt, then decompress by extension.</summary>
    public async Task<byte[]> DecodeAsync(string path)
    {
        var stored = await File.ReadAllBytesAsync(path);
        byte[] plain;
        if (_libsodiumKeyHex is not null)
        {
            plain = (await ExternalTool.RunAsync("/usr/bin/python3", [SecretStream, "decrypt"], stored, KeyEnvironment(), TimeSpan.FromMinutes(5)))
                .EnsureSuccess("walg_secretstream.py decrypt " + path).Stdout;
        }
        else if (_gpg is not null)
        {
            plain = (await _gpg.GpgAsync(["--decrypt", path], _gpgPassphrase)).EnsureSuccess("gpg --decrypt " + path).Stdout;
        }
        else
        {
            plain = stored;
        }

        return Path.GetExtension(path) switch
        {
            ".lz4" => await DrainAsync(LZ4Stream.Decode(new MemoryStream(plain))),
            ".zst" => await DrainAsync(new DecompressionStream(new MemoryStream(plain))),
            ".tar" or "" => plain,
            var other => throw new InvalidOperationException($"WAL-G knows no decompressor for '{other}' ({path})."),
        };
    }

    /// <summary>Stores <paramref name="plain"/> as WAL-G's writer does with lz4: an LZ4 frame made by the lz4 tool, then encrypted.</summary>
    public async Task<byte[]> EncodeLz4Async(byte[] plain)
    {
        var frame = (await ExternalTool.RunAsync("lz4", ["-q", "-c"], plain, timeout: TimeSpan.FromMinutes(5))).EnsureSuccess("lz4 -c").Stdout;
        if (_libsodiumKeyHex is not null)
        {
            return (await ExternalTool.RunAsync("/usr/bin/python3", [SecretStream, "encrypt"], frame, KeyEnvironment(), TimeSpan.FromMinutes(5)))
                .EnsureSuccess("walg_secretstream.py encrypt").Stdout;
        }

        return _gpg is null ? frame : throw new NotSupportedException("The oracle writes libsodium-encrypted or plain objects.");
    }

    private Dictionary<string, string> KeyEnvironment() => new() { ["WALG_TEST_LIBSODIUM_KEY_HEX"] = _libsodiumKeyHex! };

    private static async Task<byte[]> DrainAsync(Stream stream)
    {
        await using (stream)
        {
            using var plain = new MemoryStream();
            await stream.CopyToAsync(plain);
            return plain.ToArray();
        }
    }
}
