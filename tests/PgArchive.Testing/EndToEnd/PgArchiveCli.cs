namespace PgArchive.EndToEnd;

/// <summary>
/// The pgarchive CLI as PostgreSQL runs it: published once per test run into a directory every OS user can
/// read (or taken from PGARCHIVE_CLI), then run as the cluster's OS user.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PgArchiveCli : IAsyncLifetime
{
    private string? _publishDirectory;

    /// <summary>The pgarchive executable.</summary>
    public string Executable { get; private set; } = "";

    /// <summary>Whether <see cref="Executable"/> is one self-sufficient file (Native AOT), not an apphost beside its pgarchive.dll.</summary>
    public bool IsSingleBinary => !File.Exists(Path.Combine(Path.GetDirectoryName(Executable)!, "pgarchive.dll"));

    /// <summary>The CLI at <paramref name="executable"/>, already in place (a copy, an installed package).</summary>
    public static PgArchiveCli At(string executable) => new() { Executable = executable };

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("PGARCHIVE_CLI") is { Length: > 0 } given)
        {
            Executable = File.Exists(given) ? given : throw new InvalidOperationException($"PGARCHIVE_CLI '{given}' does not exist.");
            return;
        }

        var project = Path.Combine(FindRepositoryRoot(), "samples", "PgArchive.Cli", "PgArchive.Cli.csproj");
        _publishDirectory = Directory.CreateTempSubdirectory("pgarchive-cli-").FullName;
        var result = await ProcessRunner.RunAsync("dotnet", ["publish", project, "-c", "Release", "-o", _publishDirectory, "--nologo"],
            timeout: TimeSpan.FromMinutes(10), asOsUser: false);
        result.EnsureSuccess("dotnet publish of the CLI");
        File.SetUnixFileMode(_publishDirectory, (UnixFileMode)0b111_101_101);
        Executable = Path.Combine(_publishDirectory, "pgarchive");
    }

    /// <summary>Runs pgarchive as the cluster's OS user with exactly the given settings (plus PATH and HOME).</summary>
    public Task<ProcessResult> RunAsync(IReadOnlyDictionary<string, string?> settings, params string[] args) =>
        ProcessRunner.RunAsync(Executable, args, WithCleanEnvironment(settings));

    /// <summary>The environment for pgarchive: the caller's WAL-G/PG settings and nothing inherited that could configure it.</summary>
    public static Dictionary<string, string?> WithCleanEnvironment(IReadOnlyDictionary<string, string?> settings)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (name.StartsWith("WALG_", StringComparison.Ordinal) || name.StartsWith("WALE_", StringComparison.Ordinal) || name.StartsWith("PG", StringComparison.Ordinal))
            {
                environment[name] = null;
            }
        }

        foreach (var (name, value) in settings)
        {
            environment[name] = value;
        }

        return environment;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (_publishDirectory is not null)
        {
            Directory.Delete(_publishDirectory, recursive: true);
        }

        return ValueTask.CompletedTask;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PgArchive.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
