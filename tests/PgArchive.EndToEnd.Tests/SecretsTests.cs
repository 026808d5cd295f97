using System.Collections.Concurrent;

namespace PgArchive.EndToEnd;

/// <summary>
/// Distinctive secret values (libsodium key, PGPASSWORD, S3 secret key, Azure key, PGP passphrase) never appear
/// in stdout, stderr, the server log (archive_command output), the archive's objects, error messages, or the
/// command line of any process on the machine while pgarchive runs (restore-drill starts postgres and, through
/// restore_command, pgarchive itself).
/// </summary>
public sealed class SecretsTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _libsodiumKey = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private readonly string _pgPassword = "pgpw-" + Guid.NewGuid().ToString("N");
    private readonly string _awsSecret = "awssecret-" + Guid.NewGuid().ToString("N");
    private readonly string _azureKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private readonly string _pgpPassphrase = "pgppass-" + Guid.NewGuid().ToString("N");

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private string[] Secrets => [_libsodiumKey, _pgPassword, _awsSecret, _azureKey, _pgpPassphrase];

    [Fact]
    public async Task No_secret_reaches_output_logs_objects_errors_or_any_command_line()
    {
        var outputs = new List<string>();
        var settings = _workspace.FileArchiveSettings;
        settings["WALG_LIBSODIUM_KEY"] = _libsodiumKey;
        settings["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex";
        settings["PGPASSWORD"] = _pgPassword;
        settings["AWS_SECRET_ACCESS_KEY"] = _awsSecret;
        settings["AZURE_STORAGE_ACCESS_KEY"] = _azureKey;
        settings["WALG_LOG_LEVEL"] = "DEVEL";
        var drillTemp = _workspace.PathFor("drill-tmp");
        Directory.CreateDirectory(drillTemp);
        ProcessRunner.GiveToOsUser(drillTemp);

        using var scanning = new CancellationTokenSource();
        var seenInArgv = new ConcurrentBag<string>();
        var processesSeen = new ConcurrentDictionary<int, bool>();
        var scanner = Task.Run(() => ScanCommandLines(seenInArgv, processesSeen, scanning.Token), CancellationToken.None);
        try
        {
            await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"\"{cli.Executable}\" wal-push \"%p\"", settings);
            await source.PgbenchAsync("-i", "-s", "1", "-q");
            var push = await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory);
            outputs.Add(push.EnsureSuccess("backup-push").Stdout + push.Stderr);
            await source.ExecuteAsync("CREATE TABLE later AS SELECT generate_series(1, 100) AS id");
            await source.SwitchWalAndWaitForArchiveAsync();
            outputs.Add(string.Join('\n', File.ReadLines(Path.Combine(source.Directory, "postgres.log"))));

            var drill = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["TMPDIR"] = drillTemp }, "restore-drill", "--json");
            outputs.Add(drill.EnsureSuccess("restore-drill").Stdout + drill.Stderr);
            var list = await cli.RunAsync(settings, "backup-list", "--detail", "--json");
            outputs.Add(list.EnsureSuccess("backup-list").Stdout + list.Stderr);
        }
        finally
        {
            await scanning.CancelAsync();
            await scanner;
        }

        // Failures that handle the secrets: an unreachable S3 endpoint (Azure's SDK takes ~30 s to give up: left out), a PGP key that is missing, a wrong libsodium key.
        var s3 = await cli.RunAsync(new Dictionary<string, string?>
        {
            ["WALG_S3_PREFIX"] = "s3://bucket/path", ["AWS_ENDPOINT"] = "http://127.0.0.1:1", ["AWS_ACCESS_KEY_ID"] = "AKIDTEST", ["AWS_SECRET_ACCESS_KEY"] = _awsSecret,
            ["AWS_REGION"] = "us-east-1", ["WALG_S3_MAX_RETRIES"] = "0",
        }, "backup-list");
        var pgp = await cli.RunAsync(new Dictionary<string, string?>(_workspace.FileArchiveSettings)
        {
            ["WALG_PGP_KEY_PATH"] = _workspace.PathFor("missing.asc"), ["WALG_PGP_KEY_PASSPHRASE"] = _pgpPassphrase,
        }, "backup-list");
        var wrongKey = await cli.RunAsync(new Dictionary<string, string?>(_workspace.FileArchiveSettings)
        {
            ["WALG_LIBSODIUM_KEY"] = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex",
        }, "backup-fetch", _workspace.PathFor("wrong-key"), "LATEST");
        foreach (var failed in new[] { s3, pgp, wrongKey })
        {
            Assert.NotEqual(0, failed.ExitCode);
            outputs.Add(failed.Stdout + failed.Stderr);
        }

        var archiveText = string.Join('\n', Directory.EnumerateFiles(_workspace.ArchiveDirectory, "*.json", SearchOption.AllDirectories).Select(File.ReadAllText));
        outputs.Add(archiveText);
        foreach (var secret in Secrets)
        {
            Assert.All(outputs, text => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
            Assert.DoesNotContain(seenInArgv, line => line.Contains(secret, StringComparison.Ordinal));
        }

        Assert.True(processesSeen.Count > 5, $"the command-line scanner saw only {processesSeen.Count} processes");
        Assert.Contains(processesSeen.Keys, pid => pid > 0);
    }

    /// <summary>Reads every process's command line, over and over, until cancelled; keeps those that hold a secret.</summary>
    private void ScanCommandLines(ConcurrentBag<string> hits, ConcurrentDictionary<int, bool> seen, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid))
                {
                    continue;
                }

                try
                {
                    var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                    seen.TryAdd(pid, true);
                    if (Secrets.Any(s => cmdline.Contains(s, StringComparison.Ordinal)))
                    {
                        hits.Add(cmdline);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The process ended meanwhile.
                }
            }

            Thread.Sleep(20);
        }
    }
}
