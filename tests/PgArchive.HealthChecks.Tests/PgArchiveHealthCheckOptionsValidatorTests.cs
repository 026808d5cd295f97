using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.Testing;

namespace PgArchive.HealthChecks;

public sealed class PgArchiveHealthCheckOptionsValidatorTests : OptionsValidatorContract<PgArchiveHealthCheckOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "MaxBackupAge", "PgArchive:HealthCheck:MaxBackupAge must be positive, not 00:00:00." },
        { "MaxWalArchiveLag", "PgArchive:HealthCheck:MaxWalArchiveLag must be positive, not -00:01:00." },
        { "MaxWalReceiveLag", "PgArchive:HealthCheck:MaxWalReceiveLag must be positive, not 00:00:00." },
    };

    protected override IValidateOptions<PgArchiveHealthCheckOptions> Validator { get; } = new PgArchiveHealthCheckOptionsValidator();

    protected override PgArchiveHealthCheckOptions Valid() => new();

    protected override void Break(string rule, PgArchiveHealthCheckOptions options)
    {
        switch (rule)
        {
            case "MaxBackupAge": options.MaxBackupAge = TimeSpan.Zero; break;
            case "MaxWalArchiveLag": options.MaxWalArchiveLag = TimeSpan.FromMinutes(-1); break;
            case "MaxWalReceiveLag": options.MaxWalReceiveLag = TimeSpan.Zero; break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }

    [Fact]
    public void Misspelt_setting_in_the_section_fails_at_start_naming_it() =>
        ConfigurationAssert.MisspeltKeyFailsAtStart<PgArchiveHealthCheckOptions>(
            new Dictionary<string, string?> { ["HealthCheck:MaxBackupAg"] = "1.00:00:00" },
            (services, configuration) =>
            {
                services.AddPgArchive().UseInMemory();
                services.AddHealthChecks().AddPgArchive(configuration.GetSection("HealthCheck"));
            },
            "MaxBackupAg");
}
