using Microsoft.Extensions.Options;
using PgArchive.Encryption;

namespace PgArchive.DependencyInjection;

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
