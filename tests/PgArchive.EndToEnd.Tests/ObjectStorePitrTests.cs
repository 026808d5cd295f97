using System.Globalization;
using PgArchive.Storage.Conformance;
using PgArchive.Storage.Testing;

namespace PgArchive.EndToEnd;

/// <summary>
/// The PITR scenario through the CLI against S3 (s3rver, the SDK's defaults), configured only by the
/// environment variables a WAL-G user sets.
/// </summary>
public sealed class S3PitrTests(PgArchiveCli cli, S3rverForPitr s3rver) : IAsyncLifetime, IClassFixture<S3rverForPitr>
{
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _path = "cluster-" + Guid.NewGuid().ToString("N")[..8] + "/pg15";
    private RecipeServer Server => s3rver.Server;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> Settings => s3rver.Settings(_path);

    [Fact]
    public async Task Pitr_restore_to_a_time_through_S3()
    {
        var settings = Settings;

        var report = await PitrScenario.RunAsync(cli, _workspace, settings);

        Assert.Equal(report.PgbenchAccounts, report.RestoredAccounts);
        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
        var list = (await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list").Stdout;
        Assert.Contains(report.BackupName, list, StringComparison.Ordinal);
        var objects = Directory.EnumerateFiles(Path.Combine(Server.Directory, "data", Server["S3_BUCKET"]), "*", SearchOption.AllDirectories)
            .Select(p => p.Replace('\\', '/')).ToList();
        Assert.Contains(objects, p => p.Contains($"{_path}/basebackups_005/{report.BackupName}_backup_stop_sentinel.json", StringComparison.Ordinal));
        Assert.Contains(objects, p => p.Contains(_path + "/wal_005/", StringComparison.Ordinal) && p.Contains(".lz4", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wrong_secret_fails_wal_push_with_a_clear_message_and_no_secret()
    {
        var settings = Settings;
        settings["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-0123456789";
        var segment = _workspace.PathFor("000000010000000000000001");
        await File.WriteAllBytesAsync(segment, new byte[1 << 16], TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(segment);

        var result = await cli.RunAsync(settings, "wal-push", segment);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("credentials were refused", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("AWS_SECRET_ACCESS_KEY", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret-0123456789", result.Stderr + result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_storage_prefixes_are_refused()
    {
        var settings = Settings;
        settings["WALG_SWIFT_PREFIX"] = "swift://container/path";

        var result = await cli.RunAsync(settings, "backup-list");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("WALG_S3_PREFIX", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("WALG_SWIFT_PREFIX", result.Stderr, StringComparison.Ordinal);
    }
}

/// <summary>
/// The PITR scenario through the CLI against OpenStack Swift (the all-in-one, v1 tempauth), configured only by
/// environment variables, with 1 MiB segments so that tar partitions and WAL go through Static Large Objects.
/// </summary>
public sealed class SwiftPitrTests(PgArchiveCli cli, SwiftForPitr swift) : IAsyncLifetime, IClassFixture<SwiftForPitr>
{
    private const string Container = SwiftForPitr.Container;
    private readonly ArchiveWorkspace _workspace = new();
    private RecipeServer Server => swift.Server;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    [Fact]
    public async Task Pitr_restore_to_a_time_through_Swift()
    {
        var settings = new Dictionary<string, string?>
        {
            ["WALG_SWIFT_PREFIX"] = $"swift://{Container}/cluster-1",
            ["OS_AUTH_URL"] = Server["SWIFT_AUTH_URL"],
            ["OS_USERNAME"] = Server["SWIFT_USER"],
            ["OS_PASSWORD"] = Server["SWIFT_KEY"],
            ["SWIFT_SEGMENT_SIZE"] = (1 << 20).ToString(CultureInfo.InvariantCulture),
        };

        var report = await PitrScenario.RunAsync(cli, _workspace, settings);

        Assert.Equal(report.PgbenchAccounts, report.RestoredAccounts);
        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
        var list = (await cli.RunAsync(settings, "backup-list")).EnsureSuccess("backup-list").Stdout;
        Assert.Contains(report.BackupName, list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WalE_variables_configure_Swift_too()
    {
        var settings = new Dictionary<string, string?>
        {
            ["WALE_SWIFT_PREFIX"] = $"swift://{Container}/wale",
            ["SWIFT_AUTHURL"] = Server["SWIFT_AUTH_URL"],
            ["SWIFT_USER"] = Server["SWIFT_USER"],
            ["SWIFT_PASSWORD"] = Server["SWIFT_KEY"],
            ["SWIFT_AUTH_VERSION"] = "1",
        };
        var segment = _workspace.PathFor("000000010000000000000007");
        await File.WriteAllBytesAsync(segment, PgArchive.Support.WalSegments.Create("000000010000000000000007", size => [.. Enumerable.Range(0, size).Select(i => (byte)i)]), TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(segment);

        (await cli.RunAsync(settings, "wal-push", segment)).EnsureSuccess("wal-push");
        var fetched = _workspace.PathFor("fetched");
        (await cli.RunAsync(settings, "wal-fetch", "000000010000000000000007", fetched)).EnsureSuccess("wal-fetch");

        Assert.Equal(await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken), await File.ReadAllBytesAsync(fetched, TestContext.Current.CancellationToken));
        settings["SWIFT_PASSWORD"] = "wrong-password-42";
        var denied = await cli.RunAsync(settings, "wal-fetch", "000000010000000000000007", _workspace.PathFor("again"));
        Assert.Equal(1, denied.ExitCode);
        Assert.Contains("refused user", denied.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-42", denied.Stderr, StringComparison.Ordinal);
    }
}

/// <summary>s3rver for the S3 PITR tests, once per class.</summary>
public sealed class S3rverForPitr : IAsyncLifetime
{
    private RecipeServer? _server;

    public RecipeServer Server => _server ?? throw new InvalidOperationException("s3rver has not started.");

    public async ValueTask InitializeAsync() =>
        _server = await RecipeServer.StartAsync("start-s3rver.sh", new Dictionary<string, string>
        {
            ["S3RVER_PORT"] = FreePorts.FindBlock(1).ToString(CultureInfo.InvariantCulture),
        });

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>What a WAL-G user sets for s3rver: the prefix <paramref name="folder"/> in its bucket, endpoint, path style, region, keys, and 5 MiB parts (backups' partitions go through multipart uploads too).</summary>
    public Dictionary<string, string?> Settings(string folder) => new()
    {
        ["WALG_S3_PREFIX"] = $"s3://{Server["S3_BUCKET"]}/{folder}",
        ["AWS_ENDPOINT"] = Server["S3_ENDPOINT"],
        ["AWS_S3_FORCE_PATH_STYLE"] = "true",
        ["AWS_REGION"] = Server["S3_REGION"],
        ["AWS_ACCESS_KEY_ID"] = Server["S3_ACCESS_KEY"],
        ["AWS_SECRET_ACCESS_KEY"] = Server["S3_SECRET_KEY"],
        ["S3_MAX_PART_SIZE"] = (5 << 20).ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>The Swift all-in-one for the Swift PITR tests, once per class, with the archive's container.</summary>
public sealed class SwiftForPitr : IAsyncLifetime
{
    public const string Container = "pgarchive-e2e";
    private RecipeServer? _server;

    public RecipeServer Server => _server ?? throw new InvalidOperationException("Swift has not started.");

    public async ValueTask InitializeAsync()
    {
        _server = await RecipeServer.StartAsync("start-swift-saio.sh", new Dictionary<string, string>
        {
            ["SWIFT_PORT"] = FreePorts.FindBlock(5).ToString(CultureInfo.InvariantCulture),
            ["SWIFT_LOG_LEVEL"] = "WARNING",
        });
        using var http = new HttpClient();
        using var auth = new HttpRequestMessage(HttpMethod.Get, Server["SWIFT_AUTH_URL"]);
        auth.Headers.Add("X-Auth-User", Server["SWIFT_USER"]);
        auth.Headers.Add("X-Auth-Key", Server["SWIFT_KEY"]);
        using var token = await http.SendAsync(auth);
        token.EnsureSuccessStatusCode();
        await PgArchive.Storage.Conformance.SwiftContainer.CreateAsync(http, Server["SWIFT_STORAGE_URL"], Container, token.Headers.GetValues("X-Auth-Token").Single());
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
