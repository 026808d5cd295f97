namespace PgArchive.EndToEnd;

/// <summary>
/// copy end to end between two local-filesystem archives, with real PostgreSQL 15 and the CLI (<see cref="CopyScenario"/>):
/// the copy alone restores to a restore point with exactly its rows; bad input is one line.
/// </summary>
public sealed class CopyTests(PgArchiveCli cli) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _workspace.DisposeAsync();

    private static Dictionary<string, string?> NoSettings => [];

    [Fact]
    public async Task A_delta_copied_with_its_history_restores_from_the_copy_alone_to_a_restore_point_with_exact_rows()
    {
        var destination = new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = _workspace.CreateDirectory("copy") };

        var (expected, restored) = await CopyScenario.RunAsync(cli, _workspace, _workspace.FileArchiveSettings, destination);

        Assert.Equal(expected, restored);
    }

    [Fact]
    public async Task Copy_to_the_same_store_and_a_missing_config_file_are_one_line_configuration_errors()
    {
        var from = CopyScenario.ConfigFile(_workspace, "from.json", _workspace.FileArchiveSettings);
        var same = CopyScenario.ConfigFile(_workspace, "same.json", new Dictionary<string, string?> { ["WALG_FILE_PREFIX"] = "file://" + _workspace.ArchiveDirectory + "/" });

        var toItself = await cli.RunAsync(NoSettings, "copy", "--from", from, "--to", same);
        var missing = await cli.RunAsync(NoSettings, "copy", "--from", from, "--to", _workspace.PathFor("absent.json"));

        Assert.Equal(2, toItself.ExitCode);
        Assert.Equal($"pgarchive: configuration error: --from and --to name the same store (file:{_workspace.ArchiveDirectory}): copy needs two different stores.", toItself.Stderr.Trim());
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal($"pgarchive: configuration error: --to '{_workspace.PathFor("absent.json")}': no such config file.", missing.Stderr.Trim());
    }
}
