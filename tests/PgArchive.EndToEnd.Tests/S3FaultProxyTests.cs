using System.Globalization;
using PgArchive.Storage.Conformance;

namespace PgArchive.EndToEnd;

/// <summary>
/// The CLI against s3rver through <see cref="FaultProxy"/>, on the real AWS SDK path: archiving, backup-push,
/// backup-fetch and PITR ride out 10% transient HTTP faults (500, 503 SlowDown, resets, truncated downloads, latency)
/// and every stored object still decodes (fetched once more with half the downloads cut short); a fault that does
/// not go away fails backup-push and wal-push cleanly (one line, non-zero exit) and leaves nothing that backup-list
/// or wal-fetch would see.
/// </summary>
public sealed class S3FaultProxyTests(PgArchiveCli cli, S3rverForPitr s3rver, ITestOutputHelper output) : IAsyncLifetime, IClassFixture<S3rverForPitr>
{
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _path = "faults-" + Guid.NewGuid().ToString("N")[..8] + "/pg15";
    private FaultProxy? _proxy;

    private RecipeServer Server => s3rver.Server;

    private FaultProxy Proxy => _proxy ?? throw new InvalidOperationException("The proxy has not started.");

    public ValueTask InitializeAsync()
    {
        _proxy = FaultProxy.Start(new Uri(Server["S3_ENDPOINT"]), transientRate: 0, seed: Environment.TickCount);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        await _workspace.DisposeAsync();
    }

    /// <summary>What a WAL-G user sets, with the endpoint pointing at the proxy.</summary>
    private Dictionary<string, string?> Settings(int maxRetries) => new()
    {
        ["WALG_S3_PREFIX"] = $"s3://{Server["S3_BUCKET"]}/{_path}",
        ["AWS_ENDPOINT"] = Proxy.Endpoint.ToString().TrimEnd('/'),
        ["AWS_S3_FORCE_PATH_STYLE"] = "true",
        ["AWS_REGION"] = Server["S3_REGION"],
        ["AWS_ACCESS_KEY_ID"] = Server["S3_ACCESS_KEY"],
        ["AWS_SECRET_ACCESS_KEY"] = Server["S3_SECRET_KEY"],
        ["S3_MAX_RETRIES"] = maxRetries.ToString(CultureInfo.InvariantCulture),
        // Small parts and partitions: the base backup goes through several multipart uploads.
        ["S3_MAX_PART_SIZE"] = (5 << 20).ToString(CultureInfo.InvariantCulture),
        ["WALG_TAR_SIZE_THRESHOLD"] = (8 << 20).ToString(CultureInfo.InvariantCulture),
    };

    private List<string> StoredObjects() => Directory.Exists(Path.Combine(Server.Directory, "data", Server["S3_BUCKET"], _path))
        ? [.. Directory.EnumerateFiles(Path.Combine(Server.Directory, "data", Server["S3_BUCKET"], _path), "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith("._S3rver_metadata.json", StringComparison.Ordinal) && !p.EndsWith("._S3rver_object.md5", StringComparison.Ordinal))
            .Select(p => Path.GetRelativePath(Path.Combine(Server.Directory, "data", Server["S3_BUCKET"], _path), p).Replace('\\', '/'))]
        : [];

    [Fact]
    public async Task Pitr_through_ten_percent_transient_faults_is_exact_and_every_object_decodes()
    {
        var settings = Settings(maxRetries: 10);
        Proxy.TransientRate = 0.1;

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var report = await PitrScenario.RunAsync(cli, _workspace, settings);
        var verify = await cli.RunAsync(settings, "backup-verify", "LATEST");
        var walIntegrity = await cli.RunAsync(settings, "wal-verify", "integrity");
        var (requests, faults, tenPercent, tenPercentTime) = (Proxy.Requests, Proxy.TransientFaults, Proxy.Summary(), watch.Elapsed);
        var segments = StoredObjects().Where(p => p.StartsWith("wal_005/", StringComparison.Ordinal) && !p.Contains(".history", StringComparison.Ordinal))
            .Select(p => Path.GetFileName(p).Split('.')[0]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        // Every segment fetched again with half the downloads cut off mid-body: the CLI must resume them and check what it got.
        Proxy.ResetCounts();
        Proxy.TransientKinds = [ProxyFault.TruncatedBody];
        Proxy.TransientRate = 0.5;
        watch.Restart();
        var fetchFailures = new List<string>();
        var refetch = new Dictionary<string, string?>(settings) { ["WALG_DOWNLOAD_CONCURRENCY"] = "1" };
        foreach (var segment in segments)
        {
            var fetched = await cli.RunAsync(refetch, "wal-fetch", segment, _workspace.PathFor("check-" + segment));
            if (fetched.ExitCode != 0)
            {
                fetchFailures.Add($"{segment}: exit {fetched.ExitCode}: {fetched.Stderr.Trim()}");
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PITR, backup-verify, wal-verify in {tenPercentTime.TotalSeconds:F1} s: {tenPercent}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{segments.Count} segments fetched again in {watch.Elapsed.TotalSeconds:F1} s: {Proxy.Summary()}"));
        output.WriteLine($"backup {report.BackupName}: push {report.BackupPushTime.TotalSeconds:F1} s, fetch {report.BackupFetchTime.TotalSeconds:F1} s, " +
            $"{report.SegmentsFetched} segments replayed");
        Assert.Equal(report.PgbenchAccounts, report.RestoredAccounts);
        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
        Assert.True(verify.ExitCode == 0, $"backup-verify: exit {verify.ExitCode}\n{verify.Stdout}\n{verify.Stderr}");
        Assert.StartsWith(report.BackupName + ": OK", verify.Stdout, StringComparison.Ordinal);
        Assert.True(walIntegrity.ExitCode == 0, $"wal-verify: exit {walIntegrity.ExitCode}\n{walIntegrity.Stdout}\n{walIntegrity.Stderr}");
        Assert.Contains("integrity check status: OK", walIntegrity.Stdout, StringComparison.Ordinal);
        Assert.True(segments.Count >= 3, "archived segments: " + string.Join(", ", segments));
        Assert.Empty(fetchFailures);
        Assert.True(Proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody) > 0, Proxy.Summary());
        // The run went through the proxy, and the proxy did inject faults: about 10% expected, far below means none went in.
        Assert.True(requests > 50, tenPercent);
        Assert.True(faults >= requests / 40, tenPercent);
    }

    [Fact]
    public async Task Permanent_faults_fail_backup_push_and_wal_push_cleanly_and_leave_nothing_visible()
    {
        var settings = Settings(maxRetries: 2);
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "true", settings);
        await source.PgbenchAsync("-i", "-s", "1", "-q");

        // Every upload under basebackups_005/ fails with 500, every time.
        Proxy.Permanent = r => r.Method is "PUT" or "POST" && r.Path.Contains("/basebackups_005/", StringComparison.Ordinal);
        var push = await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory);
        var backupFaults = Proxy.Faults.GetValueOrDefault(ProxyFault.Permanent);
        Proxy.Permanent = null;
        var list = await cli.RunAsync(settings, "backup-list", "--json");

        CliAssert.CleanFailure(push, 1, "InternalError");
        Assert.Equal("[]", list.EnsureSuccess("backup-list").Stdout.Trim());
        Assert.DoesNotContain(StoredObjects(), p => p.EndsWith("_backup_stop_sentinel.json", StringComparison.Ordinal));
        Assert.False(await source.ScalarAsync<bool>(
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'client backend' AND query ILIKE '%pg_backup_start%' AND pid <> pg_backend_pid()"));

        // Every upload under wal_005/ fails the same way: wal-push fails, and the segment is not there to fetch.
        const string name = "000000010000000000000042";
        var segment = _workspace.PathFor(name);
        await File.WriteAllBytesAsync(segment, PgArchive.Support.WalSegments.Create(name, size => [.. Enumerable.Range(0, size).Select(i => (byte)(i * 7))]),
            TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(segment);
        Proxy.Permanent = r => r.Method is "PUT" or "POST" && r.Path.Contains("/wal_005/", StringComparison.Ordinal);
        var walPush = await cli.RunAsync(settings, "wal-push", segment);
        var walFaults = Proxy.Faults.GetValueOrDefault(ProxyFault.Permanent) - backupFaults;
        Proxy.Permanent = null;
        var walFetch = await cli.RunAsync(settings, "wal-fetch", name, _workspace.PathFor("fetched"));

        output.WriteLine(Proxy.Summary() + $"; backup-push met {backupFaults} permanent faults, wal-push {walFaults}");
        CliAssert.CleanFailure(walPush, 1, "InternalError");
        Assert.True(walFetch.ExitCode == 74, $"wal-fetch of a segment whose push failed: exit {walFetch.ExitCode}, want 74 (not in archive)\n{walFetch.Stderr}");
        Assert.False(File.Exists(_workspace.PathFor("fetched")));
        Assert.DoesNotContain(StoredObjects(), p => p.StartsWith("wal_005/" + name, StringComparison.Ordinal));
        Assert.True(backupFaults >= 3, Proxy.Summary()); // each attempt of at least one upload: the first try and 2 SDK retries
        Assert.True(walFaults >= 3, Proxy.Summary());
    }
}
