using System.CommandLine;
using PgArchive.Cli.Commands;
using PgArchive.Cli.Native;

namespace PgArchive.Cli;

/// <summary>pgarchive: WAL-G's commands, environment variables and storage layout.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        EmbeddedLibsodium.Register(); // before anything can call into libsodium
        var global = new GlobalOptions();
        var root = new RootCommand("pgarchive: continuous archiving, base backups and point-in-time recovery for PostgreSQL, in WAL-G's storage layout.");
        root.Options.Add(global.Config);
        root.Options.Add(global.EnvDirectory);
        root.Options.Add(global.Turbo);
        root.Subcommands.Add(WalCommands.Push(global));
        root.Subcommands.Add(WalCommands.Fetch(global));
        root.Subcommands.Add(WalCommands.Prefetch(global));
        root.Subcommands.Add(WalReceiveCommand.Create(global));
        root.Subcommands.Add(BackupCommands.Push(global));
        root.Subcommands.Add(BackupCommands.Fetch(global));
        root.Subcommands.Add(BackupCommands.List(global));
        root.Subcommands.Add(RetentionCommands.Mark(global));
        root.Subcommands.Add(RetentionCommands.Delete(global));
        root.Subcommands.Add(VerifyCommands.BackupVerify(global));
        root.Subcommands.Add(VerifyCommands.WalShow(global));
        root.Subcommands.Add(VerifyCommands.WalVerify(global));
        root.Subcommands.Add(DrillCommands.RestoreDrill(global));
        root.Subcommands.Add(StorageToolsCommands.Create(global));
        root.Subcommands.Add(CopyCommand.Create(global));
        root.Subcommands.Add(DaemonCommand.Create(global));
        root.Subcommands.Add(DaemonClientCommand.Create());
        root.Subcommands.Add(CatchUpCommand.Create(global));
        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            foreach (var error in parseResult.Errors)
            {
                await Console.Error.WriteLineAsync("pgarchive: " + error.Message).ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync("Run 'pgarchive --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // The daemon handles SIGTERM and SIGINT itself, finishing the requests in progress however long they take.
        var invocation = parseResult.CommandResult.Command.Name == DaemonCommand.Name ? new InvocationConfiguration { ProcessTerminationTimeout = null } : null;
        return await parseResult.InvokeAsync(invocation).ConfigureAwait(false);
    }
}
