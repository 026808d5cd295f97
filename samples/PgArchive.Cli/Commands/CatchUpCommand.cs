using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.Backups;
using PgArchive.Cli.Configuration;
using PgArchive.Storage;

namespace PgArchive.Cli.Commands;

/// <summary>
/// <c>catch-up</c>: gives the primary and each failover storage (<c>WALG_FAILOVER_STORAGES</c>) what the others hold
/// and it lacks, after an outage: complete backups (checked, sentinel last) and WAL. Every storage must answer.
/// </summary>
internal static class CatchUpCommand
{
    public static Command Create(GlobalOptions global)
    {
        var command = new Command("catch-up",
            "Copy to the primary and to each failover storage (WALG_FAILOVER_STORAGES) what the others hold and it lacks: complete backups, sentinel last, and WAL. A rerun copies nothing.");
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                var failover = services.GetService<FailoverObjectStore>()
                    ?? throw new PgArchiveConfigurationException($"catch-up needs {FailoverSettings.Variable}: set it to the failover storages, name → settings.");
                var concurrency = services.Get<IOptions<PgArchiveOptions>>().Value.UploadConcurrency;
                var results = await new FailoverCatchUp(failover, services.Get<ILoggerFactory>()).RunAsync(concurrency, ct).ConfigureAwait(false);
                foreach (var result in results)
                {
                    var backups = result.Backups.Count == 0 ? "" : $"; backups {string.Join(", ", result.Backups)}";
                    await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"catch-up: storage {result.Storage}: {result.Copied} objects copied ({result.BytesCopied} bytes){backups}.")).ConfigureAwait(false);
                }

                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }
}
