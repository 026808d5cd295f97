using System.Security.Cryptography;
using System.Text.Json;

namespace PgArchive.EndToEnd;

/// <summary>The end-to-end scenario with the archive in Google Cloud Storage (the emulator), configured by variables only.</summary>
public sealed class GcsPitrTests(PgArchiveCli cli, GcsEmulatorServer gcs) : IClassFixture<GcsEmulatorServer>, IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _folder = "cluster-" + Guid.NewGuid().ToString("N")[..8];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    [Fact]
    public async Task Pitr_restore_through_gcs_keeps_the_rows_written_before_the_target_and_none_after()
    {
        var report = await PitrScenario.RunAsync(cli, _workspace, gcs.Settings(_folder));

        Assert.Equal(report.PgbenchAccounts, report.RestoredAccounts);
        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
        var names = new List<string>();
        await foreach (var item in gcs.Client.ListObjectsAsync(gcs.Bucket, _folder + "/"))
        {
            names.Add(item.Name);
        }

        Assert.Contains($"{_folder}/basebackups_005/{report.BackupName}_backup_stop_sentinel.json", names);
        Assert.Contains($"{_folder}/basebackups_005/{report.BackupName}/metadata.json", names);
        Assert.Contains(names, n => n.StartsWith($"{_folder}/basebackups_005/{report.BackupName}/tar_partitions/part_", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith($"{_folder}/wal_005/00000001", StringComparison.Ordinal) && n.EndsWith(".lz4", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wal_push_and_fetch_work_with_the_settings_in_a_config_file()
    {
        var segment = _workspace.PathFor("000000010000000000000001");
        var content = PgArchive.Support.WalSegments.Create("000000010000000000000001", RandomNumberGenerator.GetBytes);
        await File.WriteAllBytesAsync(segment, content, TestContext.Current.CancellationToken);
        var config = _workspace.PathFor("walg.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["WALE_GS_PREFIX"] = $"gs://{gcs.Bucket}/{_folder}",
            ["STORAGE_EMULATOR_HOST"] = new Uri(gcs.EmulatorHost).Authority,
            ["GCS_MAX_CHUNK_SIZE"] = "262144",
        }), TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(segment);
        ProcessRunner.GiveToOsUser(config);
        var none = new Dictionary<string, string?>();

        (await cli.RunAsync(none, "--config", config, "wal-push", segment)).EnsureSuccess("wal-push");
        var fetched = _workspace.PathFor("fetched");
        (await cli.RunAsync(none, "--config", config, "wal-fetch", "000000010000000000000001", fetched)).EnsureSuccess("wal-fetch");
        var missing = await cli.RunAsync(none, "--config", config, "wal-fetch", "000000010000000000000002", _workspace.PathFor("missing"));

        Assert.Equal(content, await File.ReadAllBytesAsync(fetched, TestContext.Current.CancellationToken));
        Assert.NotNull(await gcs.Client.GetObjectAsync(gcs.Bucket, $"{_folder}/wal_005/000000010000000000000001.lz4", cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(74, missing.ExitCode);
    }

    [Fact]
    public async Task Two_backends_at_once_are_a_configuration_error()
    {
        var settings = gcs.Settings(_folder);
        settings["WALG_AZ_PREFIX"] = "azure://container/x";

        var result = await cli.RunAsync(settings, "backup-list");

        CliAssert.CleanFailure(result, 2, "Several storage prefixes are set (WALG_AZ_PREFIX, WALG_GS_PREFIX)");
    }

    [Theory]
    [InlineData("GCS_ENCRYPTION_KEY", "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sb25nLi4uLi4=", "GCS_ENCRYPTION_KEY")]
    [InlineData("GCS_MAX_CHUNK_SIZE", "1000000", "multiple of 256 KiB")]
    public async Task Unsupported_or_invalid_gcs_settings_are_configuration_errors(string name, string value, string message)
    {
        var settings = gcs.Settings(_folder);
        settings[name] = value;

        var result = await cli.RunAsync(settings, "backup-list");

        CliAssert.CleanFailure(result, 2, message, "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sb25nLi4uLi4=");
    }
}
