using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgArchive.Cli.Configuration;
using PgArchive.Daemon;
using PgArchive.Wal;

namespace PgArchive.Cli.Commands;

/// <summary><c>daemon SOCKET</c>: WAL-G's archive daemon, wal-push and wal-fetch served on a Unix domain socket.</summary>
internal static class DaemonCommand
{
    public const string Name = "daemon";

    public static Command Create(GlobalOptions global)
    {
        var socket = new Argument<string>("socket") { Description = "The Unix domain socket to listen on (created 0600: run the daemon as PostgreSQL's OS user)." };
        var pgdata = new Option<string?>("--pgdata")
        {
            Description = "The data directory relative paths in requests are resolved against, as WAL-G's daemon (default PGDATA): a bare name pushed (%f) from its pg_wal, other paths from the directory.",
        };
        var maxRequests = new Option<int?>("--max-requests") { Description = "Requests served at once (default 8); further connections wait." };
        var command = new Command(Name,
            "Serve wal-push and wal-fetch on a Unix domain socket in WAL-G's daemon protocol, with one warm store, until SIGTERM or SIGINT: " +
            "archive_command = 'pgarchive daemon-client SOCKET wal-push %p'.")
        {
            socket, pgdata, maxRequests,
        };
        command.SetAction(async (parseResult, _) =>
        {
            // SIGTERM and SIGINT stop accepting; the requests in progress are finished before the process exits (Program
            // leaves these signals to this command).
            using var stop = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            return await CommandRunner.RunAsync(parseResult, global, LogLevel.Information,
                async (services, settings, ct) =>
                {
                    var options = new WalDaemonOptions
                    {
                        SocketPath = parseResult.GetValue(socket)!,
                        DataDirectory = (parseResult.GetValue(pgdata) ?? settings.Get("PGDATA")) is { } directory ? Path.GetFullPath(directory) : null,
                        MaxConcurrentRequests = parseResult.GetValue(maxRequests) ?? 8,
                        RequestTimeout = SettingText.Duration(settings.Get("WALG_DAEMON_WAL_UPLOAD_TIMEOUT"), "WALG_DAEMON_WAL_UPLOAD_TIMEOUT") ?? TimeSpan.FromSeconds(60),
                        UploadConcurrency = ArchiveSettingsMapper.WalUploadConcurrency(settings),
                        MarkerScope = WalCommands.ArchiveScope(settings),
                    };
                    using var daemon = new WalDaemon(services.Get<WalReadyUploader>(), services.Get<WalArchiver>(), Options.Create(options),
                        services.Get<ILogger<WalDaemon>>());
                    await daemon.RunAsync(ct).ConfigureAwait(false);
                    return ExitCodes.Success;
                }, stop.Token).ConfigureAwait(false);
        });
        return command;
    }
}
