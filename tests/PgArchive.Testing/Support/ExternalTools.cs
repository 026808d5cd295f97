using System.Diagnostics;
using System.Text;

namespace PgArchive.Support;

/// <summary>The outcome of an external program.</summary>
public sealed record ToolResult(int ExitCode, byte[] Stdout, string Stderr)
{
    public string StdoutText => Encoding.UTF8.GetString(Stdout);

    /// <summary>Throws with the program's output unless it exited 0.</summary>
    public ToolResult EnsureSuccess(string what) => ExitCode == 0
        ? this
        : throw new InvalidOperationException($"{what} failed (exit {ExitCode}):\n{Stderr}\n{StdoutText}");
}

/// <summary>
/// Runs the independent implementations the interop tests compare against (Debian's gpg, python3-nacl, zstd,
/// brotli, liblzma). Arguments go through <see cref="ProcessStartInfo.ArgumentList"/>, never a shell; secrets go
/// through standard input or the environment, never the command line.
/// </summary>
public static class ExternalTool
{
    public static async Task<ToolResult> RunAsync(string file, IEnumerable<string> arguments, byte[]? stdin = null,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {file}.");
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        var stdout = new MemoryStream();
        var readOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, cts.Token);
        var readErr = process.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(stdin, cts.Token);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(cts.Token);
            await readOut;
            return new ToolResult(process.ExitCode, stdout.ToArray(), await readErr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish in time.");
        }
    }
}

/// <summary>
/// Installs Debian packages the tests need (the test run is root on a fresh Debian 12). Fails loudly, with
/// apt's output, when a package cannot be installed: no test silently skips its independent implementation.
/// </summary>
public static class DebianPackages
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool _updated;

    public static async Task EnsureInstalledAsync(params string[] packages)
    {
        await Gate.WaitAsync();
        try
        {
            var missing = new List<string>();
            foreach (var package in packages)
            {
                var status = await ExternalTool.RunAsync("dpkg-query", ["-W", "-f=${Status}", package]);
                if (status.ExitCode != 0 || !status.StdoutText.Contains("install ok installed", StringComparison.Ordinal))
                {
                    missing.Add(package);
                }
            }

            if (missing.Count == 0)
            {
                return;
            }

            var environment = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
            if (!_updated)
            {
                (await ExternalTool.RunAsync("apt-get", ["update"], environment: environment, timeout: TimeSpan.FromMinutes(10)))
                    .EnsureSuccess("apt-get update (the tests install " + string.Join(", ", missing) + "; run them as root on Debian 12)");
                _updated = true;
            }

            (await ExternalTool.RunAsync("apt-get", ["install", "-y", "--no-install-recommends", .. missing], environment: environment, timeout: TimeSpan.FromMinutes(10)))
                .EnsureSuccess("apt-get install " + string.Join(' ', missing) + " (needed by the interop tests; run them as root on Debian 12)");
        }
        finally
        {
            Gate.Release();
        }
    }
}
