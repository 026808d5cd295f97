using System.Diagnostics;

namespace PgArchive.EndToEnd;

/// <summary>The outcome of a process.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Throws with the output unless the exit code was 0.</summary>
    public ProcessResult EnsureSuccess(string what)
    {
        if (ExitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed with exit code {ExitCode}:\n{Stderr}\n{Stdout}");
        }

        return this;
    }
}

/// <summary>Runs programs, as the PostgreSQL OS user when the tests run as root (postgres refuses root).</summary>
public static class ProcessRunner
{
    /// <summary>True when the tests run as root.</summary>
    public static bool IsRoot { get; } = Environment.UserName == "root";

    /// <summary>The OS user that owns clusters and runs pgarchive in these tests.</summary>
    public static string OsUser => IsRoot ? "postgres" : Environment.UserName;

    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/> as <see cref="OsUser"/>.</summary>
    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null, string? workingDirectory = null, bool asOsUser = true)
    {
        var start = new ProcessStartInfo(asOsUser && IsRoot ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        if (asOsUser && IsRoot)
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add(OsUser);
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(program);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
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

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in time:\n{await stderr}");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Makes <paramref name="path"/> (a directory under /tmp) belong to <see cref="OsUser"/>.</summary>
    public static void GiveToOsUser(string path)
    {
        if (IsRoot)
        {
            using var chown = Process.Start("chown", ["-R", OsUser + ":", path]);
            chown.WaitForExit();
            if (chown.ExitCode != 0)
            {
                throw new InvalidOperationException($"chown of {path} failed.");
            }
        }
    }
}
