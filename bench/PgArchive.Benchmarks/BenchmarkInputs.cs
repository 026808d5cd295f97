using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PgArchive.Benchmarks;

/// <summary>
/// Real PostgreSQL files to measure on, made at run time (nothing big is committed): a throwaway PostgreSQL 15
/// from <c>shared/recipes/start-postgres.sh</c> on a free loopback port, <c>pgbench -i -s 10</c>, then copies of
/// the first 16 MiB of pgbench_accounts' heap, the first 16 MiB of its primary-key index, and one archived
/// 16 MiB WAL segment. The server is stopped by its recipe (pg_ctl, by the PID file) before measuring starts.
/// </summary>
public static class BenchmarkInputs
{
    public const int SliceSize = 16 << 20;

    /// <summary>Input name → file, in the directory <see cref="PrepareAsync"/> filled.</summary>
    public static IReadOnlyDictionary<string, string> Files { get; private set; } = new Dictionary<string, string>();

    /// <summary>Input name → bytes, loaded once for every benchmark.</summary>
    public static byte[] Load(string name) => File.ReadAllBytes(Files[name]);

    public static async Task PrepareAsync(string directory)
    {
        var recipe = Path.Combine(RecipesDirectory(), "start-postgres.sh");
        var cluster = Path.Combine(directory, "cluster");
        var wal = Path.Combine(directory, "wal");
        Directory.CreateDirectory(wal);
        Run("chmod", "0777", wal);
        var port = FreePort().ToString(CultureInfo.InvariantCulture);
        var environment = new Dictionary<string, string>
        {
            ["PGPORT"] = port,
            ["ARCHIVE_COMMAND"] = $"test ! -f {wal}/%f && cp %p {wal}/%f",
            ["PG_EXTRA_CONF"] = "max_wal_size = 1GB",
        };
        Console.Error.WriteLine($"Starting PostgreSQL 15 in {cluster} on port {port} ...");
        Run("bash", [recipe, cluster], environment);
        try
        {
            var libpq = new Dictionary<string, string> { ["PGHOST"] = "127.0.0.1", ["PGPORT"] = port, ["PGUSER"] = "postgres", ["PGDATABASE"] = "postgres" };
            Console.Error.WriteLine("pgbench -i -s 10 ...");
            RunAsPostgres("/usr/lib/postgresql/15/bin/pgbench", ["-i", "-s", "10", "-q"], libpq);
            var heap = Query(libpq, "SELECT pg_relation_filepath('pgbench_accounts')");
            var index = Query(libpq, "SELECT pg_relation_filepath('pgbench_accounts_pkey')");
            Query(libpq, "CHECKPOINT");
            Query(libpq, "SELECT pg_switch_wal()");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (Directory.GetFiles(wal).Length < 4 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }

            var segments = Directory.GetFiles(wal).Where(f => Path.GetFileName(f).Length == 24).Order(StringComparer.Ordinal).ToList();
            if (segments.Count < 2)
            {
                throw new InvalidOperationException($"Only {segments.Count} WAL segments were archived to {wal}.");
            }

            var data = Path.Combine(cluster, "data");
            Files = new Dictionary<string, string>
            {
                ["heap"] = CopySlice(Path.Combine(data, heap), Path.Combine(directory, "heap")),
                ["index"] = CopySlice(Path.Combine(data, index), Path.Combine(directory, "index")),
                ["wal"] = CopySlice(segments[segments.Count / 2], Path.Combine(directory, "wal-segment")),
            };
        }
        finally
        {
            Run("bash", [recipe, "--stop", cluster]);
        }
    }

    private static string CopySlice(string source, string destination)
    {
        using var input = File.OpenRead(source);
        var buffer = new byte[Math.Min(SliceSize, input.Length)];
        input.ReadExactly(buffer);
        File.WriteAllBytes(destination, buffer);
        return destination;
    }

    private static string Query(Dictionary<string, string> libpq, string sql) =>
        RunAsPostgres("/usr/lib/postgresql/15/bin/psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], libpq).Trim();

    private static string RunAsPostgres(string program, string[] args, Dictionary<string, string> environment) =>
        Environment.UserName == "root" ? Run("runuser", ["-u", "postgres", "--", program, .. args], environment) : Run(program, args, environment);

    private static string Run(string program, params string[] args) => Run(program, args, new Dictionary<string, string>());

    private static string Run(string program, string[] args, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetTempPath() };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed (exit {process.ExitCode}):\n{stderr.Result}");
        }

        return stdout.Result;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RecipesDirectory()
    {
        if (Environment.GetEnvironmentVariable("PGARCHIVE_RECIPES") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PgArchive.sln")))
            {
                return Path.Combine(dir.Parent?.FullName ?? dir.FullName, "shared", "recipes");
            }
        }

        throw new InvalidOperationException("Cannot find shared/recipes beside the repository; set PGARCHIVE_RECIPES.");
    }
}
