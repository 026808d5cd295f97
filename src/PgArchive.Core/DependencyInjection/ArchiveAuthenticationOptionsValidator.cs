using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Authentication;

namespace PgArchive.DependencyInjection;

/// <summary>Reads the authentication key at start-up, so a missing, short or underivable key fails before any work, naming the setting.</summary>
internal sealed class ArchiveAuthenticationOptionsValidator(IServiceProvider services) : IValidateOptions<ArchiveAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, ArchiveAuthenticationOptions options)
    {
        try
        {
            _ = AuthenticationPgArchiveBuilderExtensions.LoadKey(options, services);
            return ValidateOptionsResult.Success;
        }
        catch (PgArchiveConfigurationException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
