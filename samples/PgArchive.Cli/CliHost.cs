using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using PgArchive.Cli.Configuration;

namespace PgArchive.Cli;

/// <summary>The composition root: PgArchive's services configured from WAL-G's settings.</summary>
internal static class CliHost
{
    public static ServiceProvider Build(WalgSettings settings, LogLevel logLevel)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(logLevel);
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
                console.UseUtcTimestamp = true;
                console.IncludeScopes = false;
            });
            logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });

        var builder = services.AddPgArchive(options => ArchiveSettingsMapper.Apply(settings, options));
        ArchiveSettingsMapper.ConfigureStorage(builder, settings);
        FailoverSettings.Configure(builder, settings, logLevel);
        ArchiveSettingsMapper.ConfigureCompression(builder, settings);
        ArchiveSettingsMapper.ConfigureEncryption(builder, settings);
        ArchiveSettingsMapper.ConfigureAuthentication(builder, settings);

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = false, ValidateScopes = false });
        try
        {
            provider.GetService<IStartupValidator>()?.Validate();
        }
        catch (Exception ex) when (ex is OptionsValidationException or AggregateException)
        {
            provider.Dispose();
            var failures = ex is AggregateException many
                ? many.Flatten().InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures)
                : ((OptionsValidationException)ex).Failures;
            throw new PgArchiveConfigurationException(string.Join(" ", failures), ex);
        }

        return provider;
    }
}
