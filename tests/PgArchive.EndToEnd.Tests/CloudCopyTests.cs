namespace PgArchive.EndToEnd;

/// <summary>copy from S3 (s3rver) to Azure Blob Storage (Azurite) (<see cref="CopyScenario"/>): PITR from Azure alone is exact.</summary>
public sealed class CloudCopyTests(PgArchiveCli cli, S3rverForPitr s3rver, AzuriteServer azurite)
    : IClassFixture<S3rverForPitr>, IClassFixture<AzuriteServer>, IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();
    private readonly string _folder = "copy-" + Guid.NewGuid().ToString("N")[..8];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private Dictionary<string, string?> S3Settings => s3rver.Settings(_folder);

    [Fact]
    public async Task A_delta_copied_with_its_history_from_S3_to_Azure_restores_from_Azure_alone_to_a_restore_point_with_exact_rows()
    {
        var (expected, restored) = await CopyScenario.RunAsync(cli, _workspace, S3Settings, azurite.Settings(_folder));

        Assert.Equal(expected, restored);
    }
}
