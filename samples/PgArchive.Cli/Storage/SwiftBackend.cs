using Microsoft.Extensions.DependencyInjection;
using PgArchive.Cli.Configuration;
using PgArchive.DependencyInjection;

namespace PgArchive.Cli.Storage;

/// <summary>
/// <c>WALG_SWIFT_PREFIX</c> (also <c>WALE_SWIFT_PREFIX</c>) = <c>swift://container/path</c>: OpenStack Swift, with
/// the <c>OS_*</c> variables WAL-G reads and WAL-E's <c>SWIFT_*</c> ones (<c>OS_*</c> win when both are set).
/// </summary>
internal sealed class SwiftBackend : IStorageBackend
{
    public string Name => "swift";

    public IReadOnlyList<string> PrefixVariables { get; } = ["WALG_SWIFT_PREFIX", "WALE_SWIFT_PREFIX"];

    public void Configure(IPgArchiveBuilder builder, string prefix, WalgSettings settings)
    {
        var (container, path) = PrefixParser.Split(prefix, "swift", PrefixVariables[0]);
        var version = settings.Get("OS_AUTH_VERSION") ?? settings.Get("OS_IDENTITY_API_VERSION") ?? settings.Get("SWIFT_AUTH_VERSION");
        var authVersion = version switch
        {
            null => 0,
            "1" or "1.0" => 1,
            "2" or "2.0" => 2,
            "3" => 3,
            _ => throw new PgArchiveConfigurationException($"OS_AUTH_VERSION / SWIFT_AUTH_VERSION must be 1, 2 or 3, not '{version}'."),
        };
        var segmentSize = settings.GetInt64("SWIFT_SEGMENT_SIZE");
        // Swift:SegmentSize's rules are checked at start-up; here only what its int cannot hold.
        if (segmentSize > int.MaxValue)
        {
            throw new PgArchiveConfigurationException($"Swift:SegmentSize (SWIFT_SEGMENT_SIZE) must be between 1 MiB (1048576) and 2 GiB; it is {segmentSize}.");
        }

        builder.UseSwift(o =>
        {
            o.Container = container;
            o.Prefix = path;
            o.AuthUrl = settings.GetFirst("OS_AUTH_URL", "SWIFT_AUTHURL", "SWIFT_AUTH_URL") ?? "";
            o.AuthVersion = authVersion;
            o.Username = settings.GetFirst("OS_USERNAME", "SWIFT_USER") ?? "";
            o.Password = settings.GetFirst("OS_PASSWORD", "SWIFT_PASSWORD", "SWIFT_KEY") ?? "";
            o.ProjectName = settings.GetFirst("OS_PROJECT_NAME", "OS_TENANT_NAME", "SWIFT_TENANT");
            o.ProjectId = settings.GetFirst("OS_PROJECT_ID", "OS_TENANT_ID");
            o.UserDomainName = settings.GetFirst("OS_USER_DOMAIN_NAME") ?? "Default";
            o.ProjectDomainName = settings.GetFirst("OS_PROJECT_DOMAIN_NAME") ?? "Default";
            o.Region = settings.GetFirst("OS_REGION_NAME", "SWIFT_REGION");
            o.EndpointType = settings.GetFirst("OS_ENDPOINT_TYPE", "OS_INTERFACE", "SWIFT_ENDPOINT_TYPE") ?? "publicURL";
            o.StorageUrl = settings.Get("OS_STORAGE_URL");
            o.SegmentContainer = settings.Get("SWIFT_SEGMENT_CONTAINER");
            if (segmentSize is { } size)
            {
                o.SegmentSize = (int)size;
            }
        });
    }
}
