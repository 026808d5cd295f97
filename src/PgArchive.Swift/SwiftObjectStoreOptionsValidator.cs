using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>Checks <see cref="SwiftObjectStoreOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class SwiftObjectStoreOptionsValidator : IValidateOptions<SwiftObjectStoreOptions>;

/// <summary>Checks the rules between <see cref="SwiftObjectStoreOptions"/>' properties.</summary>
internal sealed class SwiftObjectStoreOptionsRules : IValidateOptions<SwiftObjectStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SwiftObjectStoreOptions options)
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(options.AuthUrl, UriKind.Absolute, out _))
        {
            errors.Add($"Swift:AuthUrl (OS_AUTH_URL) must be an absolute URL, not '{options.AuthUrl}'.");
        }

        if (options.Container.Contains('/', StringComparison.Ordinal))
        {
            errors.Add($"Swift:Container '{options.Container}' must not contain '/': put the path in Swift:Prefix.");
        }

        if (SwiftAuthenticator.Interface(options.EndpointType) is null)
        {
            errors.Add($"Swift:EndpointType (OS_ENDPOINT_TYPE) must be publicURL, internalURL or adminURL, not '{options.EndpointType}'.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
