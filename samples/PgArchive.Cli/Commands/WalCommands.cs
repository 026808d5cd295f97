using System.CommandLine;
using Microsoft.Extensions.Logging;
using PgArchive.Cli.Configuration;
using PgArchive.Wal;

namespace PgArchive.Cli.Commands;

/// <summary><c>wal-push</c> and <c>wal-fetch</c>: PostgreSQL's archive_command and restore_command.</summary>
internal static class WalCommands
{
    public static Command Push(GlobalOptions global)
    {
        var path = new Argument<string>("path") { Description = "The WAL file PostgreSQL archives (%p)." };
        var command = new Command("wal-push", "Archive one WAL file: archive_command = 'pgarchive wal-push %p'. Exits 0 only once it is durably stored.") { path };
        command.SetAction((parseResult, cancellationToken) =>
        {
            // The fast path: a segment an earlier call uploaded ahead, unchanged since, needs neither configuration nor store.
            if (WalUploadMarkers.TryConsume(parseResult.GetValue(path)!))
            {
                return Task.FromResult(ExitCodes.Success);
            }

            return CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
                async (services, settings, ct) =>
                {
                    var concurrency = ArchiveSettingsMapper.WalUploadConcurrency(settings);
                    await services.Get<WalReadyUploader>().PushAsync(parseResult.GetValue(path)!, concurrency, cancellationToken: ct).ConfigureAwait(false);
                    return ExitCodes.Success;
                }, cancellationToken);
        });
        return command;
    }

    public static Command Fetch(GlobalOptions global)
    {
        var name = new Argument<string>("name") { Description = "The WAL file PostgreSQL asks for (%f)." };
        var destination = new Argument<string>("destination") { Description = "Where PostgreSQL wants it (%p)." };
        var command = new Command("wal-fetch", "Fetch one WAL file: restore_command = 'pgarchive wal-fetch %f %p'. Exits 74 when the archive does not have it.")
        {
            name, destination,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.RunAsync(parseResult, global, LogLevel.Warning,
            async (services, _, ct) =>
            {
                await services.Get<WalArchiver>().FetchAsync(parseResult.GetValue(name)!, parseResult.GetValue(destination)!, ct).ConfigureAwait(false);
                return ExitCodes.Success;
            }, cancellationToken));
        return command;
    }
}
