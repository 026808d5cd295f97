using System.CommandLine;
using System.Net.Sockets;
using PgArchive.Cli.Configuration;
using PgArchive.Daemon;
using PgArchive.Wal;

namespace PgArchive.Cli.Commands;

/// <summary>
/// <c>daemon-client SOCKET wal-push PATH</c> and <c>daemon-client SOCKET wal-fetch NAME DEST</c>: the small
/// archive_command and restore_command of <c>pgarchive daemon</c> (or WAL-G's <c>wal-g daemon</c>), as WAL-G's
/// walg-daemon-client: exit 0 only on the daemon's OK; 74 when the archive does not have the file fetched; any other
/// answer, no daemon, or no answer in time: one line and exit 1. Reads no settings and builds no store.
/// </summary>
internal static class DaemonClientCommand
{
    public static Command Create()
    {
        var socket = new Argument<string>("socket") { Description = "The daemon's Unix domain socket." };
        var operation = new Argument<string>("command") { Description = "wal-push or wal-fetch." };
        var arguments = new Argument<string[]>("arguments")
        {
            Description = "wal-push: the WAL file (%p, or %f as WAL-G's documentation writes it); wal-fetch: the file's name (%f) and the destination (%p).",
            Arity = new ArgumentArity(1, 2),
        };
        var timeout = new Option<string>("--timeout") { Description = "How long the daemon may take to answer (default 60s).", DefaultValueFactory = _ => "60s" };
        var connectionTimeout = new Option<string>("--connection-timeout") { Description = "How long connecting may take (default 5s).", DefaultValueFactory = _ => "5s" };
        var command = new Command("daemon-client",
            "Ask 'pgarchive daemon' to push or fetch one WAL file: archive_command = 'pgarchive daemon-client SOCKET wal-push %p', " +
            "restore_command = 'pgarchive daemon-client SOCKET wal-fetch %f %p'. Exits 0 only on the daemon's OK.")
        {
            socket, operation, arguments, timeout, connectionTimeout,
        };
        command.SetAction((parseResult, cancellationToken) => CommandRunner.GuardAsync(async () =>
        {
            var path = parseResult.GetValue(socket)!;
            var (type, request) = Request(parseResult.GetValue(operation)!, parseResult.GetValue(arguments)!);
            var reply = await SendAsync(path, DaemonFrame.Encode(type, request),
                SettingText.Duration(parseResult.GetValue(connectionTimeout), "--connection-timeout")!.Value,
                SettingText.Duration(parseResult.GetValue(timeout), "--timeout")!.Value, cancellationToken).ConfigureAwait(false);
            return reply switch
            {
                DaemonMessageType.Ok => ExitCodes.Success,
                DaemonMessageType.ArchiveNonExistence when type == DaemonMessageType.WalFetch => throw new WalFileNotFoundException(request[0]),
                DaemonMessageType.Error => throw new PgArchiveException(
                    $"The daemon at '{path}' failed to {(type == DaemonMessageType.WalPush ? "wal-push" : "wal-fetch")} '{request[0]}': its log says why."),
                _ => throw new PgArchiveException($"The daemon at '{path}' answered 0x{(byte)reply:x2}, which is not a reply of WAL-G's daemon protocol."),
            };
        }, cancellationToken));
        return command;
    }

    /// <summary>The request's type and arguments; paths made absolute against the working directory (PostgreSQL's: the data directory).</summary>
    private static (DaemonMessageType Type, string[] Arguments) Request(string operation, string[] arguments) =>
        (operation.ToLowerInvariant(), arguments.Length) switch
        {
            ("wal-push", 1) => (DaemonMessageType.WalPush, [Path.GetFullPath(arguments[0])]),
            ("wal-fetch", 2) => (DaemonMessageType.WalFetch, [arguments[0], Path.GetFullPath(arguments[1])]),
            ("wal-push", _) => throw new PgArchiveConfigurationException("daemon-client SOCKET wal-push takes one argument: the WAL file's path (%p)."),
            ("wal-fetch", _) => throw new PgArchiveConfigurationException("daemon-client SOCKET wal-fetch takes two arguments: the file's name (%f) and the destination (%p)."),
            _ => throw new PgArchiveConfigurationException($"daemon-client: unknown command '{operation}': use wal-push or wal-fetch."),
        };

    /// <summary>Sends one request and reads the one-byte reply, within the connection timeout and then the operation timeout.</summary>
    private static async Task<DaemonMessageType> SendAsync(string path, byte[] message, TimeSpan connectionTimeout, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new PgArchiveException($"Daemon socket '{path}' does not exist: is 'pgarchive daemon {path}' running?");
        }

        using var connection = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connecting.CancelAfter(connectionTimeout);
            try
            {
                await connection.ConnectAsync(new UnixDomainSocketEndPoint(path), connecting.Token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new PgArchiveException($"Cannot connect to the daemon at '{path}': {ex.Message} (is 'pgarchive daemon {path}' running?)", ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new PgArchiveException($"No connection to the daemon at '{path}' within {connectionTimeout.TotalSeconds:0.###} s (--connection-timeout).", ex);
            }
        }

        using var answering = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        answering.CancelAfter(timeout);
        var reply = new byte[1];
        try
        {
            await connection.SendAsync(message, SocketFlags.None, answering.Token).ConfigureAwait(false);
            return await connection.ReceiveAsync(reply, SocketFlags.None, answering.Token).ConfigureAwait(false) == 1
                ? (DaemonMessageType)reply[0]
                : throw new PgArchiveException($"The daemon at '{path}' closed the connection without answering (stopped or killed meanwhile?).");
        }
        catch (SocketException ex)
        {
            throw new PgArchiveException($"The daemon at '{path}' did not answer: {ex.Message}", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PgArchiveException($"The daemon at '{path}' did not answer within {timeout.TotalSeconds:0.###} s (--timeout).", ex);
        }
    }
}
