using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.Backups;
using PgArchive.Cli.Configuration;
using PgArchive.Cli.Storage;

namespace PgArchive.Cli.Commands;

/// <summary>
/// WAL-G's <c>copy</c>: backups with the WAL their restore needs, from the store one config file names to the store
/// another names, objects copied as stored (never decoded), resumable.
/// </summary>
internal static class CopyCommand
{
    public static Command Create(GlobalOptions global)
    {
        var from = new Option<string>("--from", "-f") { Description = "A WAL-G JSON config file naming the store to copy from.", Required = true };
        var to = new Option<string>("--to", "-t") { Description = "A WAL-G JSON config file naming the store to copy to.", Required = true };
        var backup = new Option<string?>("--backup-name", "-b") { Description = "The backup to copy (a name or LATEST); every complete backup when left out." };
        var history = new Option<bool>("--with-history", "-w")
        {
            Description = "Also copy every WAL segment of the backup's timeline archived after it, up to the newest one there when the copy starts.",
        };
        var command = new Command("copy", "Copy backups, their delta chains and the WAL their restore needs to another store, byte for byte; objects already there with the same size are skipped.")
        {
            from, to, backup, history,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.GuardAsync(async () =>
        {
            var source = CommandRunner.Load(parseResult, global, ConfigFile(parseResult.GetValue(from)!, "--from"));
            var destination = CommandRunner.Load(parseResult, global, ConfigFile(parseResult.GetValue(to)!, "--to"));
            var location = StorageBackends.Location(source);
            if (location == StorageBackends.Location(destination))
            {
                throw new PgArchiveConfigurationException($"--from and --to name the same store ({location}): copy needs two different stores.");
            }

            var sourceServices = CliHost.Build(source, CommandRunner.LogLevelFrom(source, LogLevel.Warning));
            await using (sourceServices.ConfigureAwait(false))
            {
                var destinationServices = CliHost.Build(destination, CommandRunner.LogLevelFrom(destination, LogLevel.Warning));
                await using (destinationServices.ConfigureAwait(false))
                {
                    var copier = new ArchiveCopier(StorageToolsCommands.Store(sourceServices), StorageToolsCommands.Store(destinationServices),
                        sourceServices.Get<ILoggerFactory>().CreateLogger<ArchiveCopier>());
                    var concurrency = sourceServices.Get<IOptions<PgArchiveOptions>>().Value.UploadConcurrency;
                    var result = await copier.CopyAsync(parseResult.GetValue(backup), parseResult.GetValue(history), concurrency, cancellationToken).ConfigureAwait(false);
                    await Console.Error.WriteLineAsync(Summary(result)).ConfigureAwait(false);
                    return ExitCodes.Success;
                }
            }
        }, cancellationToken));
        return command;
    }

    private static string Summary(ArchiveCopyResult result) => result switch
    {
        { Backups.Count: 0 } => "copy: no backup in the source, nothing copied.",
        { Copied: 0 } => string.Create(CultureInfo.InvariantCulture,
            $"copy: nothing to copy: all {result.Skipped} objects of {string.Join(", ", result.Backups)} are already in the destination."),
        _ => string.Create(CultureInfo.InvariantCulture,
            $"copy: {result.Copied} objects copied ({result.BytesCopied} bytes), {result.Skipped} skipped (already in the destination); backups {string.Join(", ", result.Backups)}."),
    };

    /// <summary>The config file of <paramref name="option"/>; a missing one is a configuration error naming the option (WalgSettings names an unreadable one).</summary>
    private static string ConfigFile(string path, string option) =>
        File.Exists(path) ? path : throw new PgArchiveConfigurationException($"{option} '{path}': no such config file.");
}
