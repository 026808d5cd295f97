using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PgArchive.Drill;

/// <summary>
/// A postmaster this process started over a restored data directory, on a free loopback port and a private
/// socket directory; stopped by its PID (fast shutdown, then kill). As root it runs as another OS user through
/// <c>setpriv</c>, which execs postgres so the PID is the postmaster's own. Its stderr keeps the last lines.
/// </summary>
internal sealed partial class DrillServer : IAsyncDisposable
{
    private const int SigInt = 2;
    private readonly Process _process;
    private readonly Queue<string> _log = new();
    private readonly Lock _logLock = new();

    private DrillServer(Process process, int port, string socketDirectory)
    {
        _process = process;
        Port = port;
        SocketDirectory = socketDirectory;
    }

    public int Port { get; }

    public string SocketDirectory { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static bool IsRoot => Environment.UserName == "root";

    public static DrillServer Start(string postgres, string dataDirectory, string socketDirectory, string? osUser, IReadOnlyDictionary<string, string> environment)
    {
        var port = FreePort();
        var start = new ProcessStartInfo(osUser is null ? postgres : "setpriv")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = socketDirectory,
        };
        if (osUser is not null)
        {
            foreach (var arg in new[] { "--reuid", osUser, "--regid", osUser, "--init-groups", "--", postgres })
            {
                start.ArgumentList.Add(arg);
            }
        }

        // Nothing secret on the command line: storage settings reach the restore_command through the environment.
        foreach (var arg in new[]
        {
            "-D", dataDirectory, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + socketDirectory,
            "-c", "archive_mode=off", "-c", "logging_collector=off", "-c", "log_destination=stderr",
            "-c", "hba_file=" + Path.Combine(socketDirectory, "pg_hba.conf"),
        })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new PgArchiveException($"Cannot start {postgres}.");
        var server = new DrillServer(process, port, socketDirectory);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return server;
    }

    /// <summary>The server's last log lines.</summary>
    public string LogTail()
    {
        lock (_logLock)
        {
            return string.Join('\n', _log);
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log.Enqueue(line);
            while (_log.Count > 30)
            {
                _log.Dequeue();
            }
        }
    }

    /// <summary>Fast shutdown by PID, waiting up to a minute, then SIGKILL.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = Kill(_process.Id, SigInt);
                using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
                try
                {
                    await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
