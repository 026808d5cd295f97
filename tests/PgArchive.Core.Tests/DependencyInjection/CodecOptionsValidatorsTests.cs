using Microsoft.Extensions.Options;
using PgArchive.Compression;
using PgArchive.Encryption;
using PgArchive.Testing;

namespace PgArchive.DependencyInjection;

public sealed class ZstdCompressorOptionsValidatorTests : OptionsValidatorContract<ZstdCompressorOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "Level below 1", "PgArchive:Zstd:Level (WALG_ZSTD_LEVEL) must be between 1 and 22, or one of fastest, default, better, best; it is 0." },
        { "Level above 22", "PgArchive:Zstd:Level (WALG_ZSTD_LEVEL) must be between 1 and 22, or one of fastest, default, better, best; it is 23." },
    };

    protected override IValidateOptions<ZstdCompressorOptions> Validator { get; } = new ZstdCompressorOptionsValidator();

    protected override ZstdCompressorOptions Valid() => new();

    protected override void Break(string rule, ZstdCompressorOptions options) =>
        options.Level = rule == "Level below 1" ? 0 : 23;
}

public sealed class BrotliCompressorOptionsValidatorTests : OptionsValidatorContract<BrotliCompressorOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "Quality below 0", "PgArchive:Brotli:Quality (PGARCHIVE_BROTLI_QUALITY) must be between 0 and 11; it is -1." },
        { "Quality above 11", "PgArchive:Brotli:Quality (PGARCHIVE_BROTLI_QUALITY) must be between 0 and 11; it is 12." },
    };

    protected override IValidateOptions<BrotliCompressorOptions> Validator { get; } = new BrotliCompressorOptionsValidator();

    protected override BrotliCompressorOptions Valid() => new();

    protected override void Break(string rule, BrotliCompressorOptions options) =>
        options.Quality = rule == "Quality below 0" ? -1 : 12;
}

public sealed class LzmaCompressorOptionsValidatorTests : OptionsValidatorContract<LzmaCompressorOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "DictionarySize", "PgArchive:Lzma:DictionarySize (PGARCHIVE_LZMA_DICTIONARY_SIZE) must be between 65536 (64 KiB) and 268435456 (256 MiB); it is 65535." },
        { "FastBytes", "PgArchive:Lzma:FastBytes (PGARCHIVE_LZMA_FAST_BYTES) must be between 5 and 273; it is 274." },
    };

    protected override IValidateOptions<LzmaCompressorOptions> Validator { get; } = new LzmaCompressorOptionsValidator();

    protected override LzmaCompressorOptions Valid() => new();

    protected override void Break(string rule, LzmaCompressorOptions options)
    {
        if (rule == "DictionarySize")
        {
            options.DictionarySize = (64 << 10) - 1;
        }
        else
        {
            options.FastBytes = 274;
        }
    }
}

public sealed class LibsodiumEncryptorOptionsValidatorTests : OptionsValidatorContract<LibsodiumEncryptorOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "a key", "Libsodium encryption needs a key: set WALG_LIBSODIUM_KEY (PgArchive:Libsodium:Key) or WALG_LIBSODIUM_KEY_PATH (PgArchive:Libsodium:KeyPath)." },
        { "a legacy key of 25 bytes or more", "The libsodium key in WALG_LIBSODIUM_KEY is 24 bytes long; with WALG_LIBSODIUM_KEY_TRANSFORM=none it must be at least 25 (better: a random 32-byte key from `openssl rand -hex 32` with WALG_LIBSODIUM_KEY_TRANSFORM=hex)." },
        { "a transformed key of exactly 32 bytes", "The libsodium key in WALG_LIBSODIUM_KEY decodes to 31 bytes; it must be exactly 32 bytes." },
        { "a key that decodes", "The libsodium key in WALG_LIBSODIUM_KEY is not valid hex (WALG_LIBSODIUM_KEY_TRANSFORM=hex)." },
        { "a known transform", "WALG_LIBSODIUM_KEY_TRANSFORM (PgArchive:Libsodium:KeyTransform) must be none, base64 or hex, not 9." },
        { "a readable key file", "Cannot read the libsodium key file '/nonexistent/libsodium.key' (WALG_LIBSODIUM_KEY_PATH): it does not exist." },
    };

    protected override IValidateOptions<LibsodiumEncryptorOptions> Validator { get; } = new LibsodiumEncryptorOptionsValidator();

    protected override LibsodiumEncryptorOptions Valid() => new() { Key = new string('k', 32) };

    protected override void Break(string rule, LibsodiumEncryptorOptions options)
    {
        switch (rule)
        {
            case "a key": options.Key = null; break;
            case "a legacy key of 25 bytes or more": options.Key = new string('k', 24); break;
            case "a transformed key of exactly 32 bytes": options.Key = Convert.ToHexString(new byte[31]); options.KeyTransform = LibsodiumKeyTransform.Hex; break;
            case "a key that decodes": options.Key = "not hex"; options.KeyTransform = LibsodiumKeyTransform.Hex; break;
            case "a known transform": options.KeyTransform = (LibsodiumKeyTransform)9; break;
            case "a readable key file": options.Key = null; options.KeyPath = "/nonexistent/libsodium.key"; break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }
}
