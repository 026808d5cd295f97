using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Testing;

namespace PgArchive.Storage;

/// <summary>Each rule of <see cref="SwiftObjectStoreOptionsValidator"/> alone, with its exact message; no server needed.</summary>
public sealed class SwiftObjectStoreOptionsValidatorTests : OptionsValidatorContract<SwiftObjectStoreOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "AuthUrl", "Swift:AuthUrl (OS_AUTH_URL or SWIFT_AUTHURL) is required: the Keystone or Swift auth endpoint." },
        { "AuthUrl absolute", "Swift:AuthUrl (OS_AUTH_URL) must be an absolute URL, not 'keystone/v3'." },
        { "AuthVersion", "Swift:AuthVersion (OS_AUTH_VERSION) must be 1, 2 or 3 (0 = from the URL); it is 4." },
        { "Username", "Swift:Username (OS_USERNAME or SWIFT_USER) is required." },
        { "Password", "Swift:Password (OS_PASSWORD or SWIFT_PASSWORD) is required." },
        { "Container", "Swift:Container is required: the container of WALG_SWIFT_PREFIX=swift://container/path." },
        { "Container without '/'", "Swift:Container 'container/path' must not contain '/': put the path in Swift:Prefix." },
        { "EndpointType", "Swift:EndpointType (OS_ENDPOINT_TYPE) must be publicURL, internalURL or adminURL, not 'privateURL'." },
        { "SegmentSize", "Swift:SegmentSize (SWIFT_SEGMENT_SIZE) must be between 1 MiB (1048576) and 2 GiB; it is 1048575." },
        { "MaxConcurrentSegments", "Swift:MaxConcurrentSegments must be between 1 and 64; it is 0." },
        { "MaxRetries", "Swift:MaxRetries must be between 0 and 50; it is 51." },
    };

    protected override IValidateOptions<SwiftObjectStoreOptions> Validator { get; } = new SwiftObjectStoreOptionsValidator();

    protected override SwiftObjectStoreOptions Valid() =>
        new() { AuthUrl = "http://127.0.0.1:5000/v3", Username = "user", Password = "secret", Container = "container" };

    protected override void Break(string rule, SwiftObjectStoreOptions options)
    {
        switch (rule)
        {
            case "AuthUrl": options.AuthUrl = ""; break;
            case "AuthUrl absolute": options.AuthUrl = "keystone/v3"; break;
            case "AuthVersion": options.AuthVersion = 4; break;
            case "Username": options.Username = " "; break;
            case "Password": options.Password = ""; break;
            case "Container": options.Container = ""; break;
            case "Container without '/'": options.Container = "container/path"; break;
            case "EndpointType": options.EndpointType = "privateURL"; break;
            case "SegmentSize": options.SegmentSize = (1 << 20) - 1; break;
            case "MaxConcurrentSegments": options.MaxConcurrentSegments = 0; break;
            case "MaxRetries": options.MaxRetries = 51; break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }

    [Fact]
    public void Misspelt_setting_in_the_section_fails_at_start_naming_it() =>
        ConfigurationAssert.MisspeltKeyFailsAtStart<SwiftObjectStoreOptions>(
            new Dictionary<string, string?> { ["Swift:Container"] = "container", ["Swift:SegmentSiz"] = "1048576" },
            (services, configuration) => services.AddPgArchive().UseSwift(configuration.GetSection("Swift")),
            "SegmentSiz");
}
