using System.Security.Cryptography;
using Azure.Storage.Blobs.Models;

namespace PgArchive.EndToEnd;

/// <summary>The end-to-end scenario with the archive in Azure Blob Storage (Azurite), configured by WAL-G's variables only.</summary>
public sealed class AzureBlobPitrTests(PgArchiveCli cli, AzuriteServer azurite) : IClassFixture<AzuriteServer>, IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _folder = "cluster-" + Guid.NewGuid().ToString("N")[..8];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    [Fact]
    public async Task Pitr_restore_through_azure_blob_keeps_the_rows_written_before_the_target_and_none_after()
    {
        var report = await PitrScenario.RunAsync(cli, _workspace, azurite.Settings(_folder));

        Assert.Equal(report.PgbenchAccounts, report.RestoredAccounts);
        Assert.Equal([1, 2, 3], report.MarkersRestored);
        Assert.True(report.SegmentsFetched >= 2, $"recovery should replay archived segments, fetched {report.SegmentsFetched}");
        // WAL-G's layout under the prefix.
        var names = new List<string>();
        await foreach (var blob in azurite.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = _folder + "/" }, TestContext.Current.CancellationToken))
        {
            names.Add(blob.Name);
        }

        Assert.Contains($"{_folder}/basebackups_005/{report.BackupName}_backup_stop_sentinel.json", names);
        Assert.Contains($"{_folder}/basebackups_005/{report.BackupName}/metadata.json", names);
        Assert.Contains(names, n => n.StartsWith($"{_folder}/basebackups_005/{report.BackupName}/tar_partitions/part_", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith($"{_folder}/wal_005/00000001", StringComparison.Ordinal) && n.EndsWith(".lz4", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wal_push_and_fetch_work_with_a_connection_string_alone()
    {
        var segment = _workspace.PathFor("000000010000000000000001");
        var content = PgArchive.Support.WalSegments.Create("000000010000000000000001", RandomNumberGenerator.GetBytes);
        await File.WriteAllBytesAsync(segment, content, TestContext.Current.CancellationToken);
        ProcessRunner.GiveToOsUser(segment);
        var settings = new Dictionary<string, string?>
        {
            ["WALE_WABS_PREFIX"] = $"wabs://{AzuriteServer.ContainerName}/{_folder}",
            ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.ConnectionString,
        };

        (await cli.RunAsync(settings, "wal-push", segment)).EnsureSuccess("wal-push");
        var fetched = _workspace.PathFor("fetched");
        (await cli.RunAsync(settings, "wal-fetch", "000000010000000000000001", fetched)).EnsureSuccess("wal-fetch");
        var missing = await cli.RunAsync(settings, "wal-fetch", "000000010000000000000002", _workspace.PathFor("missing"));

        Assert.Equal(content, await File.ReadAllBytesAsync(fetched, TestContext.Current.CancellationToken));
        Assert.True(await azurite.Container.GetBlobClient($"{_folder}/wal_005/000000010000000000000001.lz4").ExistsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(74, missing.ExitCode);
    }

    [Fact]
    public async Task Wrong_access_key_fails_with_one_line_that_names_the_variable_and_not_the_key()
    {
        var wrongKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        var settings = azurite.Settings(_folder);
        settings["AZURE_STORAGE_ACCESS_KEY"] = wrongKey;

        var result = await cli.RunAsync(settings, "backup-list");

        CliAssert.CleanFailure(result, 1, "AZURE_STORAGE_ACCESS_KEY", wrongKey, azurite.AccountKey);
        Assert.Contains("refused the credentials", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_container_fails_with_one_line_that_says_so()
    {
        var settings = azurite.Settings(_folder);
        settings["WALG_AZ_PREFIX"] = "azure://no-such-container/x";

        var result = await cli.RunAsync(settings, "backup-list");

        CliAssert.CleanFailure(result, 1, "container 'no-such-container' does not exist", azurite.AccountKey);
    }

    [Theory]
    [InlineData("s3://bucket/x", "must look like azure://container/folder")]
    [InlineData("azure:///x", "names no container")]
    public async Task Malformed_prefix_is_a_configuration_error(string prefix, string message)
    {
        var settings = azurite.Settings(_folder);
        settings["WALG_AZ_PREFIX"] = prefix;

        var result = await cli.RunAsync(settings, "backup-list");

        CliAssert.CleanFailure(result, 2, message, azurite.AccountKey);
    }
}
