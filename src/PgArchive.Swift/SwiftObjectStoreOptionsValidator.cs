using Microsoft.Extensions.Options;

namespace PgArchive.Storage;

/// <summary>Checks <see cref="SwiftObjectStoreOptions"/> at start-up, reporting every broken rule, each naming its setting and variable.</summary>
internal sealed class SwiftObjectStoreOptionsValidator : IValidateOptions<SwiftObjectStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, SwiftObjectStoreOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.AuthUrl))
        {
            errors.Add("Swift:AuthUrl (OS_AUTH_URL or SWIFT_AUTHURL) is required: the Keystone or Swift auth endpoint.");
        }
        else if (!Uri.TryCreate(options.AuthUrl, UriKind.Absolute, out _))
        {
            errors.Add($"Swift:AuthUrl (OS_AUTH_URL) must be an absolute URL, not '{options.AuthUrl}'.");
        }

        if (options.AuthVersion is < 0 or > 3)
        {
            errors.Add($"Swift:AuthVersion (OS_AUTH_VERSION) must be 1, 2 or 3 (0 = from the URL); it is {options.AuthVersion}.");
        }

        if (string.IsNullOrWhiteSpace(options.Username))
        {
            errors.Add("Swift:Username (OS_USERNAME or SWIFT_USER) is required.");
        }

        if (string.IsNullOrWhiteSpace(options.Password))
        {
            errors.Add("Swift:Password (OS_PASSWORD or SWIFT_PASSWORD) is required.");
        }

        if (string.IsNullOrWhiteSpace(options.Container))
        {
            errors.Add("Swift:Container is required: the container of WALG_SWIFT_PREFIX=swift://container/path.");
        }
        else if (options.Container.Contains('/', StringComparison.Ordinal))
        {
            errors.Add($"Swift:Container '{options.Container}' must not contain '/': put the path in Swift:Prefix.");
        }

        if (SwiftAuthenticator.Interface(options.EndpointType) is null)
        {
            errors.Add($"Swift:EndpointType (OS_ENDPOINT_TYPE) must be publicURL, internalURL or adminURL, not '{options.EndpointType}'.");
        }

        if (options.SegmentSize < 1 << 20)
        {
            errors.Add($"Swift:SegmentSize (SWIFT_SEGMENT_SIZE) must be between 1 MiB (1048576) and 2 GiB; it is {options.SegmentSize}.");
        }

        if (options.MaxConcurrentSegments is < 1 or > 64)
        {
            errors.Add($"Swift:MaxConcurrentSegments must be between 1 and 64; it is {options.MaxConcurrentSegments}.");
        }

        if (options.MaxRetries is < 0 or > 50)
        {
            errors.Add($"Swift:MaxRetries must be between 0 and 50; it is {options.MaxRetries}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
