using System.Diagnostics;
using System.Globalization;

namespace PgArchive.EndToEnd;

/// <summary>
/// A long-running pgarchive command (wal-receive) as the cluster's OS user, in the background: its own process id is
/// known (the shell execs it), so it can be sent SIGKILL or SIGINT; stderr goes to a file.
/// </summary>
public sealed class BackgroundCli : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _pidFile;

    private BackgroundCli(Process process, string pidFile, string logFile)
    {
        _process = process;
        _pidFile = pidFile;
        LogFile = logFile;
    }

    /// <summary>Where its stderr and stdout go.</summary>
    public string LogFile { get; }

    /// <summary>The log so far.</summary>
    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    /// <summary>True while it runs.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>Starts <c>pgarchive args</c> with exactly <paramref name="settings"/>; its output is appended to <paramref name="logFile"/>.</summary>
    public static async Task<BackgroundCli> StartAsync(PgArchiveCli cli, IReadOnlyDictionary<string, string?> settings, string logFile, params string[] args)
    {
        var pidFile = logFile + ".pid";
        File.Delete(pidFile);
        var script = "echo $$ > \"$PIDFILE\"; exec \"$@\" >> \"$LOGFILE\" 2>&1";
        var start = new ProcessStartInfo(ProcessRunner.IsRoot ? "runuser" : "/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        if (ProcessRunner.IsRoot)
        {
            foreach (var arg in new[] { "-u", ProcessRunner.OsUser, "--", "/bin/sh" })
            {
                start.ArgumentList.Add(arg);
            }
        }

        foreach (var arg in new[] { "-c", script, "sh", cli.Executable }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in PgArchiveCli.WithCleanEnvironment(settings))
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        start.Environment["PIDFILE"] = pidFile;
        start.Environment["LOGFILE"] = logFile;
        var process = Process.Start(start) ?? throw new InvalidOperationException("Cannot start pgarchive " + string.Join(' ', args));
        var background = new BackgroundCli(process, pidFile, logFile);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(pidFile) || new FileInfo(pidFile).Length == 0)
        {
            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                throw new InvalidOperationException("pgarchive did not start:\n" + background.Log);
            }

            await Task.Delay(20);
        }

        return background;
    }

    private int Pid => int.Parse(File.ReadAllText(_pidFile).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Sends <paramref name="signal"/> (KILL, INT, TERM) to the pgarchive process and waits for it to end.</summary>
    public async Task SignalAsync(string signal, TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-" + signal, Pid.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(cts.Token);
    }

    /// <summary>The exit code, once ended.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Waits until the log contains <paramref name="text"/>.</summary>
    public async Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"'{text}' did not appear in the log of pgarchive:\n{Log}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Kills it if it still runs.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await SignalAsync("KILL");
        }

        _process.Dispose();
    }
}
