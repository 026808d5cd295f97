using Microsoft.Extensions.Options;
using PgArchive.Compression;
using PgArchive.Encryption;

namespace PgArchive.DependencyInjection;

/// <summary>Checks <see cref="ZstdCompressorOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class ZstdCompressorOptionsValidator : IValidateOptions<ZstdCompressorOptions>;

/// <summary>Checks <see cref="BrotliCompressorOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class BrotliCompressorOptionsValidator : IValidateOptions<BrotliCompressorOptions>;

/// <summary>Checks <see cref="LzmaCompressorOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class LzmaCompressorOptionsValidator : IValidateOptions<LzmaCompressorOptions>;

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

/// <summary>Reads the OpenPGP key (and unlocks it when a passphrase is given) at start-up, naming the setting on failure.</summary>
internal sealed class PgpEncryptorOptionsValidator(TimeProvider? timeProvider = null) : IValidateOptions<PgpEncryptorOptions>
{
    public ValidateOptionsResult Validate(string? name, PgpEncryptorOptions options)
    {
        try
        {
            PgpKeyring.Load(options, timeProvider ?? TimeProvider.System);
            return ValidateOptionsResult.Success;
        }
        catch (PgArchiveConfigurationException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
