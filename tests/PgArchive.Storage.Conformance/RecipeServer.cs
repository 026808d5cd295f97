using System.Diagnostics;

namespace PgArchive.Storage.Conformance;

/// <summary>
/// A real server started by one of the verified scripts in <c>shared/recipes/</c> (found beside the
/// repository, or at <c>PGARCHIVE_RECIPES</c>). The script installs what it needs, starts the server on
/// 127.0.0.1 and prints <c>export K=V</c> lines, which become <see cref="Environment"/>. Start failures
/// throw with the script's output: a test never runs, or skips, without its server.
/// </summary>
public sealed class RecipeServer : IAsyncDisposable
{
    private readonly string _script;
    private readonly IReadOnlyDictionary<string, string>? _startEnvironment;

    private RecipeServer(string script, string directory, IReadOnlyDictionary<string, string> environment, IReadOnlyDictionary<string, string>? startEnvironment)
    {
        _script = script;
        Directory = directory;
        Environment = environment;
        _startEnvironment = startEnvironment;
    }

    /// <summary>The directory the server keeps its state in.</summary>
    public string Directory { get; }

    /// <summary>The variables the script exported.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>The value of an exported variable.</summary>
    public string this[string name] => Environment.TryGetValue(name, out var value)
        ? value : throw new InvalidOperationException($"{Path.GetFileName(_script)} did not export {name}.");

    /// <summary>The folder of recipe scripts.</summary>
    public static string RecipesDirectory()
    {
        if (System.Environment.GetEnvironmentVariable("PGARCHIVE_RECIPES") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PgArchive.sln")))
            {
                var recipes = Path.Combine(dir.Parent?.FullName ?? dir.FullName, "shared", "recipes");
                if (System.IO.Directory.Exists(recipes))
                {
                    return recipes;
                }

                throw new InvalidOperationException(
                    $"The server recipes are missing: expected '{recipes}' (the shared/ folder beside the repository) or PGARCHIVE_RECIPES.");
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (PgArchive.sln) above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs <c>shared/recipes/&lt;script&gt; &lt;dir&gt;</c> and waits until the server answers.</summary>
    /// <param name="script">e.g. <c>start-s3rver.sh</c>.</param>
    /// <param name="environment">Extra variables for the script (ports, settings).</param>
    /// <param name="timeout">How long install and start may take.</param>
    public static async Task<RecipeServer> StartAsync(string script, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var path = Path.Combine(RecipesDirectory(), script);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"Recipe '{path}' does not exist.");
        }

        var directory = System.IO.Directory.CreateTempSubdirectory("pgarchive-" + Path.GetFileNameWithoutExtension(script) + "-").FullName;
        var (exit, stdout, stderr) = await RunAsync(path, [directory], environment, timeout ?? TimeSpan.FromMinutes(10));
        if (exit != 0)
        {
            throw new InvalidOperationException($"{script} failed to start its server (exit {exit}):\n{Tail(stderr)}\n{Tail(stdout)}");
        }

        var exports = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n'))
        {
            var text = line.Trim();
            if (!text.StartsWith("export ", StringComparison.Ordinal) || text.IndexOf('=', StringComparison.Ordinal) is var eq && eq < 0)
            {
                continue;
            }

            var name = text[7..eq];
            var value = text[(eq + 1)..];
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            exports[name] = value;
        }

        return new RecipeServer(path, directory, exports, environment);
    }

    /// <summary>Stops the server by the PID its start recorded, keeping its state: an outage, ended by <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync() => await RunAsync(_script, ["--stop", Directory], null, TimeSpan.FromMinutes(2));

    /// <summary>Starts the server again on its state and port after <see cref="StopAsync"/>.</summary>
    public async Task RestartAsync()
    {
        var (exit, stdout, stderr) = await RunAsync(_script, [Directory], _startEnvironment, TimeSpan.FromMinutes(2));
        if (exit != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(_script)} failed to restart its server (exit {exit}):\n{Tail(stderr)}\n{Tail(stdout)}");
        }
    }

    /// <summary>Stops the server by the PIDs its start recorded.</summary>
    public async ValueTask DisposeAsync()
    {
        await RunAsync(_script, ["--stop", Directory], null, TimeSpan.FromMinutes(2));
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true); // the server's data and logs, once it is stopped
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // a server that outlived --stop still holds files: leave them rather than fail the test run
        }
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string script, string[] args, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Cannot start bash.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(script)} did not finish within {timeout}:\n{Tail(await stderr)}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];
}
