using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Azure.Storage.Blobs;
using PgArchive.Storage.Conformance;
using PgArchive.Support;

namespace PgArchive.EndToEnd;

/// <summary>
/// Distinctive secret values, each used for real (a role with a password and password authentication, a libsodium
/// key, an OpenPGP key and its passphrase, an AWS session token and secret key against s3rver, an Azure account key
/// against Azurite started with that account) never appear in stdout, stderr, log files, error messages, the archive's
/// metadata, or the command line (/proc/PID/cmdline) of any process on the machine while pgarchive runs, including the
/// children it starts (the detached wal-prefetch of wal-fetch, postgres of restore-drill and the wal-fetch that
/// postgres runs). Success and failure paths both: wrong password, wrong keys, wrong bucket and container, a decode error.
/// Children's environments may hold secrets (that is how they are passed on); their argv may not.
/// </summary>
public sealed class SecretsTests(PgArchiveCli cli, S3rverForPitr s3rver, AzuriteWithSecretAccount azurite, GpgHome gpg)
    : IAsyncLifetime, IClassFixture<S3rverForPitr>, IClassFixture<AzuriteWithSecretAccount>, IClassFixture<GpgHome>
{
    private const string SegmentName = "000000010000000000000021";
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _libsodiumKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private readonly string _wrongLibsodiumKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private readonly string _pgPassword = "pgpw-" + Guid.NewGuid().ToString("N");
    private readonly string _wrongPgPassword = "pgpw-wrong-" + Guid.NewGuid().ToString("N");
    private readonly string _awsSecret = "awssecret-" + Guid.NewGuid().ToString("N");
    private readonly string _awsSessionToken = "awstoken-" + Guid.NewGuid().ToString("N");
    private readonly string _wrongAzureKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
    private readonly string _wrongPgpPassphrase = "pgppass-" + Guid.NewGuid().ToString("N");
    private readonly List<string> _outputs = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>The right and the wrong values: none may leak. For the PGP key, a run of its armored secret material.</summary>
    private string[] Secrets =>
    [
        _libsodiumKey, _wrongLibsodiumKey, _pgPassword, _wrongPgPassword, _awsSecret, _awsSessionToken, azurite.AccountKey, _wrongAzureKey,
        GpgHome.Passphrase, _wrongPgpPassphrase, PgpSecretSample,
    ];

    private string PgpSecretSample
    {
        get
        {
            var body = gpg.Rsa.ArmoredSecret.Split('\n').Where(l => l.Length >= 60 && !l.Contains(':', StringComparison.Ordinal)).ToList();
            return body[body.Count / 2].Trim();
        }
    }

    [Fact]
    public async Task Password_libsodium_and_pgp_secrets_stay_out_of_output_logs_and_every_command_line()
    {
        var settings = _workspace.FileArchiveSettings;
        settings["WALG_LIBSODIUM_KEY"] = _libsodiumKey;
        settings["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex";
        settings["PGPASSWORD"] = _pgPassword;
        settings["WALG_LOG_LEVEL"] = "DEVEL";
        var drillTemp = _workspace.CreateDirectory("drill-tmp");

        await using (var scanner = CommandLineScanner.Start(Secrets))
        {
            await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), $"\"{cli.Executable}\" wal-push \"%p\"", settings);
            await source.CreatePasswordRoleAsync("secret_user", _pgPassword);
            await source.PgbenchAsync("-i", "-s", "1", "-q");
            var libpq = new Dictionary<string, string?>(source.LibpqEnvironment) { ["PGUSER"] = "secret_user", ["PGPASSWORD"] = _pgPassword };

            // Password authentication is enforced: the wrong password fails, the right one backs up.
            var refused = await cli.RunAsync(PitrScenario.Merge(settings, new Dictionary<string, string?>(libpq) { ["PGPASSWORD"] = _wrongPgPassword }),
                "backup-push", source.DataDirectory);
            Assert.True(refused.ExitCode != 0, "backup-push with the wrong PGPASSWORD should fail:\n" + refused.Stderr);
            Assert.Contains("password", refused.Stderr, StringComparison.OrdinalIgnoreCase);
            Keep(refused);
            Keep((await cli.RunAsync(PitrScenario.Merge(settings, libpq), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push"));
            await source.ExecuteAsync("CREATE TABLE later AS SELECT generate_series(1, 100) AS id");
            await source.SwitchWalAndWaitForArchiveAsync();

            // wal-fetch starts the detached wal-prefetch child; restore-drill starts postgres, whose restore_command runs pgarchive.
            var first = Directory.EnumerateFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005")).Select(Path.GetFileName).Order(StringComparer.Ordinal).First()!.Split('.')[0];
            Keep((await cli.RunAsync(settings, "wal-fetch", first, _workspace.PathFor("fetched-" + first))).EnsureSuccess("wal-fetch"));
            Keep((await cli.RunAsync(new Dictionary<string, string?>(settings) { ["TMPDIR"] = drillTemp }, "restore-drill", "--json")).EnsureSuccess("restore-drill"));
            Keep((await cli.RunAsync(settings, "backup-list", "--detail", "--json")).EnsureSuccess("backup-list"));

            // A decode error: the wrong libsodium key.
            var wrongKey = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["WALG_LIBSODIUM_KEY"] = _wrongLibsodiumKey },
                "backup-fetch", _workspace.PathFor("wrong-key"), "LATEST");
            Assert.NotEqual(0, wrongKey.ExitCode);
            Keep(wrongKey);

            // OpenPGP: the armored secret key itself in WALG_PGP_KEY, with its passphrase; then the wrong passphrase.
            var pgp = new Dictionary<string, string?>
            {
                ["WALG_FILE_PREFIX"] = _workspace.PathFor("pgp-archive"),
                ["WALG_PGP_KEY"] = gpg.Rsa.ArmoredSecret,
                ["WALG_PGP_KEY_PASSPHRASE"] = GpgHome.Passphrase,
                ["WALG_LOG_LEVEL"] = "DEVEL",
            };
            Directory.CreateDirectory(pgp["WALG_FILE_PREFIX"]!);
            ProcessRunner.GiveToOsUser(pgp["WALG_FILE_PREFIX"]!);
            await RoundTripSegmentAsync(pgp);
            var badPassphrase = await cli.RunAsync(new Dictionary<string, string?>(pgp) { ["WALG_PGP_KEY_PASSPHRASE"] = _wrongPgpPassphrase },
                "wal-fetch", SegmentName, _workspace.PathFor("pgp-wrong"));
            Assert.NotEqual(0, badPassphrase.ExitCode);
            Keep(badPassphrase);

            _outputs.Add(string.Join('\n', File.ReadLines(Path.Combine(source.Directory, "postgres.log"))));
            await source.StopAsync();
            scanner.AssertClean();
            Assert.True(scanner.Saw(cli.Executable, " wal-prefetch " + first), "the scanner never saw wal-fetch's wal-prefetch child:\n" + scanner.Describe(cli.Executable));
            Assert.True(scanner.Saw("hba_file=" + drillTemp), "the scanner never saw restore-drill's postgres:\n" + scanner.Describe("hba_file="));
            Assert.True(scanner.Saw(cli.Executable, " wal-fetch ", "pg_wal/"), "the scanner never saw a wal-fetch run by a restore_command:\n" + scanner.Describe(cli.Executable));
        }

        _outputs.Add(string.Join('\n', Directory.EnumerateFiles(_workspace.ArchiveDirectory, "*.json", SearchOption.AllDirectories).Select(File.ReadAllText)));
        AssertNoSecretInOutputsOrLogs();
    }

    [Fact]
    public async Task S3_session_token_and_secret_key_stay_out_of_output_and_command_lines()
    {
        var server = s3rver.Server;
        // s3rver knows one account (S3RVER/S3RVER, fixed by the recipe's launcher): the distinctive values are the session
        // token, signed into every request, and the secret key of the failing runs.
        var settings = new Dictionary<string, string?>
        {
            ["WALG_S3_PREFIX"] = $"s3://{server["S3_BUCKET"]}/secrets-{Guid.NewGuid():N}",
            ["AWS_ENDPOINT"] = server["S3_ENDPOINT"],
            ["AWS_S3_FORCE_PATH_STYLE"] = "true",
            ["AWS_REGION"] = server["S3_REGION"],
            ["AWS_ACCESS_KEY_ID"] = server["S3_ACCESS_KEY"],
            ["AWS_SECRET_ACCESS_KEY"] = server["S3_SECRET_KEY"],
            ["AWS_SESSION_TOKEN"] = _awsSessionToken,
            ["WALG_LIBSODIUM_KEY"] = _libsodiumKey,
            ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex",
            ["S3_MAX_RETRIES"] = "1",
            ["WALG_LOG_LEVEL"] = "DEVEL",
        };

        await using (var scanner = CommandLineScanner.Start(Secrets))
        {
            await RoundTripSegmentAsync(settings);
            // The server echoes the canonical request (session token included) in its SignatureDoesNotMatch body.
            var wrongSecret = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["AWS_SECRET_ACCESS_KEY"] = _awsSecret }, "wal-fetch", SegmentName, _workspace.PathFor("x1"));
            var wrongSecretList = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["AWS_SECRET_ACCESS_KEY"] = _awsSecret }, "backup-list");
            var wrongBucket = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["WALG_S3_PREFIX"] = "s3://no-such-bucket-pgarchive/x" }, "wal-fetch", SegmentName, _workspace.PathFor("x2"));
            var decodeError = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["WALG_LIBSODIUM_KEY"] = _wrongLibsodiumKey }, "wal-fetch", SegmentName, _workspace.PathFor("x3"));
            Assert.Contains("credentials were refused", wrongSecret.Stderr, StringComparison.Ordinal);
            Assert.Contains("credentials were refused", wrongSecretList.Stderr, StringComparison.Ordinal);
            Assert.Contains("bucket does not exist", wrongBucket.Stderr, StringComparison.Ordinal);
            foreach (var failed in new[] { wrongSecret, wrongSecretList, wrongBucket, decodeError })
            {
                Assert.True(failed.ExitCode is not (0 or 74), $"exit {failed.ExitCode}: {failed.Stderr}");
                Keep(failed);
            }

            scanner.AssertClean();
            Assert.True(scanner.Saw(cli.Executable, " wal-prefetch " + SegmentName), "the scanner never saw wal-fetch's wal-prefetch child:\n" + scanner.Describe(cli.Executable));
        }

        AssertNoSecretInOutputsOrLogs();
    }

    [Fact]
    public async Task Azure_account_key_stays_out_of_output_and_command_lines()
    {
        var settings = new Dictionary<string, string?>
        {
            ["WALG_AZ_PREFIX"] = $"azure://{AzuriteWithSecretAccount.ContainerName}/secrets-{Guid.NewGuid():N}",
            ["AZURE_STORAGE_ACCOUNT"] = azurite.AccountName,
            ["AZURE_STORAGE_ACCESS_KEY"] = azurite.AccountKey,
            ["AZURE_STORAGE_BLOB_ENDPOINT"] = azurite.BlobEndpoint,
            ["WALG_LIBSODIUM_KEY"] = _libsodiumKey,
            ["WALG_LIBSODIUM_KEY_TRANSFORM"] = "hex",
            ["WALG_LOG_LEVEL"] = "DEVEL",
        };

        await using (var scanner = CommandLineScanner.Start(Secrets))
        {
            await RoundTripSegmentAsync(settings);
            var wrongKey = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["AZURE_STORAGE_ACCESS_KEY"] = _wrongAzureKey }, "wal-fetch", SegmentName, _workspace.PathFor("x1"));
            var wrongKeyList = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["AZURE_STORAGE_ACCESS_KEY"] = _wrongAzureKey }, "backup-list");
            var wrongContainer = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["WALG_AZ_PREFIX"] = "azure://no-such-container/x" }, "wal-fetch", SegmentName, _workspace.PathFor("x2"));
            var decodeError = await cli.RunAsync(new Dictionary<string, string?>(settings) { ["WALG_LIBSODIUM_KEY"] = _wrongLibsodiumKey }, "wal-fetch", SegmentName, _workspace.PathFor("x3"));
            foreach (var failed in new[] { wrongKey, wrongKeyList, wrongContainer, decodeError })
            {
                Assert.True(failed.ExitCode is not (0 or 74), $"exit {failed.ExitCode}: {failed.Stderr}");
                Keep(failed);
            }

            scanner.AssertClean();
            Assert.True(scanner.Saw(cli.Executable, " wal-prefetch " + SegmentName), "the scanner never saw wal-fetch's wal-prefetch child:\n" + scanner.Describe(cli.Executable));
        }

        AssertNoSecretInOutputsOrLogs();
    }

    /// <summary>wal-push of a synthetic segment, wal-fetch of it (starting wal-prefetch), backup-list: all must work.</summary>
    private async Task RoundTripSegmentAsync(Dictionary<string, string?> settings)
    {
        var segment = _workspace.PathFor("segment-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(segment);
        var file = Path.Combine(segment, SegmentName);
        var bytes = WalSegments.Create(SegmentName, size => RandomNumberGenerator.GetBytes(size));
        await File.WriteAllBytesAsync(file, bytes, Token);
        ProcessRunner.GiveToOsUser(segment);
        Keep((await cli.RunAsync(settings, "wal-push", file)).EnsureSuccess("wal-push"));
        var fetched = Path.Combine(segment, "fetched");
        Keep((await cli.RunAsync(settings, "wal-fetch", SegmentName, fetched)).EnsureSuccess("wal-fetch"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(fetched, Token));
        Keep((await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list"));
        await Task.Delay(500, Token); // let the detached wal-prefetch run while the scanner watches
    }

    private void Keep(ProcessResult result) => _outputs.Add(result.Stdout + "\n" + result.Stderr);

    private void AssertNoSecretInOutputsOrLogs()
    {
        // Log files anywhere in the workspace (postgres.log of every cluster, anything pgarchive may have written).
        foreach (var log in Directory.EnumerateFiles(_workspace.Root, "*.log", SearchOption.AllDirectories))
        {
            _outputs.Add(File.ReadAllText(log));
        }

        Assert.True(_outputs.Count >= 5, $"only {_outputs.Count} outputs collected");
        foreach (var secret in Secrets)
        {
            Assert.All(_outputs, text => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
        }
    }
}

/// <summary>Reads every process's command line, over and over, until disposed; keeps those that hold a secret.</summary>
internal sealed class CommandLineScanner : IAsyncDisposable
{
    private readonly string[] _secrets;
    private readonly ConcurrentBag<string> _hits = [];
    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _scanning;

    private readonly string _canary = "canary-" + Guid.NewGuid().ToString("N");

    private CommandLineScanner(string[] secrets)
    {
        _secrets = secrets;
        _scanning = Task.Run(Scan, CancellationToken.None);
        // A short-lived child with a known argument: the scanner must see it, or it proves nothing.
        using var canary = System.Diagnostics.Process.Start("/bin/sh", ["-c", "sleep 0.2", _canary]);
        canary.WaitForExit();
    }

    public static CommandLineScanner Start(string[] secrets) => new(secrets);

    /// <summary>Whether some process's command line contained <paramref name="fragment"/>.</summary>
    public bool Saw(params string[] fragments) => _seen.Keys.Any(c => fragments.All(f => c.Contains(f, StringComparison.Ordinal)));

    /// <summary>The command lines seen that contain <paramref name="fragment"/>, for failure messages.</summary>
    public string Describe(string fragment) => string.Join('\n', _seen.Keys.Where(c => c.Contains(fragment, StringComparison.Ordinal)).Take(60));

    public void AssertClean()
    {
        Assert.True(Saw(_canary), $"the command-line scanner missed a 0.2 s child (of {_seen.Count} command lines seen)");
        Assert.Empty(_hits);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _scanning;
        _stop.Dispose();
    }

    private void Scan()
    {
        while (!_stop.IsCancellationRequested)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out _))
                {
                    continue;
                }

                try
                {
                    var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                    if (cmdline.Length > 0 && _seen.TryAdd(cmdline, true) && _secrets.Any(s => cmdline.Contains(s, StringComparison.Ordinal)))
                    {
                        _hits.Add(cmdline);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The process ended meanwhile.
                }
            }

            Thread.Sleep(5);
        }
    }
}

/// <summary>Azurite started with its own account (AZURITE_ACCOUNTS) and a random key, with one container.</summary>
public sealed class AzuriteWithSecretAccount : IAsyncLifetime
{
    public const string ContainerName = "pgarchive-secrets";
    private RecipeServer? _server;
    private int _port;

    public string AccountName { get; } = "pgarchsecret" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    public string AccountKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));

    public string BlobEndpoint => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{_port}/{AccountName}");

    public async ValueTask InitializeAsync()
    {
        _port = CloudPorts.Free();
        _server = await RecipeServer.StartAsync("start-azurite.sh", new Dictionary<string, string>
        {
            ["AZURITE_PORT"] = _port.ToString(CultureInfo.InvariantCulture),
            ["AZURITE_ACCOUNTS"] = $"{AccountName}:{AccountKey}",
        }, TimeSpan.FromMinutes(5));
        var container = new BlobContainerClient(
            $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={BlobEndpoint};", ContainerName);
        await container.CreateIfNotExistsAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
