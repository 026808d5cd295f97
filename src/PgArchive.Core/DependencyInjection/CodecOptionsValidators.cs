using Microsoft.Extensions.Options;
using PgArchive.Compression;
using PgArchive.Encryption;

namespace PgArchive.DependencyInjection;

// One hand-written validator per options type, every rule once, all failures together (no DataAnnotations: the
// .NET 10 [OptionsValidator] generator's copy of RangeAttribute ignores ErrorMessage and prefixes member names).

/// <summary>Checks <see cref="ZstdCompressorOptions"/> at start-up.</summary>
internal sealed class ZstdCompressorOptionsValidator : IValidateOptions<ZstdCompressorOptions>
{
    public ValidateOptionsResult Validate(string? name, ZstdCompressorOptions options) =>
        options.Level is >= 1 and <= 22
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"PgArchive:Zstd:Level (WALG_ZSTD_LEVEL) must be between 1 and 22, or one of fastest, default, better, best; it is {options.Level}.");
}

/// <summary>Checks <see cref="BrotliCompressorOptions"/> at start-up.</summary>
internal sealed class BrotliCompressorOptionsValidator : IValidateOptions<BrotliCompressorOptions>
{
    public ValidateOptionsResult Validate(string? name, BrotliCompressorOptions options) =>
        options.Quality is >= 0 and <= 11
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"PgArchive:Brotli:Quality (PGARCHIVE_BROTLI_QUALITY) must be between 0 and 11; it is {options.Quality}.");
}

/// <summary>Checks <see cref="LzmaCompressorOptions"/> at start-up, reporting every bad setting.</summary>
internal sealed class LzmaCompressorOptionsValidator : IValidateOptions<LzmaCompressorOptions>
{
    public ValidateOptionsResult Validate(string? name, LzmaCompressorOptions options)
    {
        var failures = new List<string>();
        if (options.DictionarySize is < 64 << 10 or > 256 << 20)
        {
            failures.Add($"PgArchive:Lzma:DictionarySize (PGARCHIVE_LZMA_DICTIONARY_SIZE) must be between 65536 (64 KiB) and 268435456 (256 MiB); it is {options.DictionarySize}.");
        }

        if (options.FastBytes is < 5 or > 273)
        {
            failures.Add($"PgArchive:Lzma:FastBytes (PGARCHIVE_LZMA_FAST_BYTES) must be between 5 and 273; it is {options.FastBytes}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Reads the libsodium key at start-up, so a missing or malformed key fails before any work, naming the setting.</summary>
internal sealed class LibsodiumEncryptorOptionsValidator : IValidateOptions<LibsodiumEncryptorOptions>
{
    public ValidateOptionsResult Validate(string? name, LibsodiumEncryptorOptions options)
    {
        try
        {
            var key = LibsodiumKey.Load(options);
            Array.Clear(key);
            return ValidateOptionsResult.Success;
        }
        catch (PgArchiveConfigurationException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
