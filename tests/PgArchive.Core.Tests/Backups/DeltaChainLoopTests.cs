using PgArchive.Backups.Delta;
using PgArchive.Retention;

namespace PgArchive.Backups;

/// <summary>
/// Delta chains whose DeltaFrom loops (a backup built on itself, or two built on each other) or names a backup that is
/// not there: every command that follows a chain stops with a message naming the backup and where the chain breaks,
/// instead of running forever.
/// </summary>
public sealed class DeltaChainLoopTests : IDisposable
{
    private readonly SyntheticArchive _archive = new();
    private readonly string _full;
    private readonly string _delta;

    public DeltaChainLoopTests()
    {
        _full = _archive.AddBackup(1, 2);
        _delta = _archive.AddBackup(1, 4, deltaFrom: _full);
        _archive.AddWal(1, 1, 6);
    }

    public void Dispose() => _archive.Dispose();

    /// <summary>The test's token, cut after 20 s: a walk that loops would otherwise never end.</summary>
    private static CancellationToken Bounded()
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        return cts.Token;
    }

    private void LoopOnItself() => _archive.RewriteSentinel(_delta, s => s.DeltaFrom = _delta);

    [Fact]
    public async Task Mark_permanent_stops_at_a_delta_built_on_itself()
    {
        LoopOnItself();

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _archive.Get<BackupCatalog>().MarkAsync("LATEST", permanent: true, Bounded()));

        Assert.Contains($"delta chain of {_delta} loops", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{_delta} is built on {_delta}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mark_permanent_stops_at_two_backups_built_on_each_other()
    {
        _archive.RewriteSentinel(_full, s => s.DeltaFrom = _delta);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _archive.Get<BackupCatalog>().MarkAsync(_delta, permanent: true, Bounded()));

        Assert.Contains($"delta chain of {_delta} loops", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{_full} is built on {_delta}", ex.Message, StringComparison.Ordinal);
        Assert.False((await _archive.Get<BackupCatalog>().ReadMetadataAsync(_full, Bounded()))!.IsPermanent);
    }

    [Fact]
    public async Task Mark_names_a_base_that_is_missing()
    {
        _archive.RewriteSentinel(_delta, s => s.DeltaFrom = "base_000000010000000000000001");

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => _archive.Get<BackupCatalog>().MarkAsync(_delta, permanent: true, Bounded()));

        Assert.Contains($"{_delta} is built on base_000000010000000000000001 (DeltaFrom in 'basebackups_005/{_delta}_backup_stop_sentinel.json'), which is not in the archive", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_reports_a_delta_whose_chain_loops()
    {
        LoopOnItself();

        var result = await _archive.Get<BackupVerifier>().VerifyAsync(_delta, Bounded());

        Assert.Contains(result.Problems, p => p.Description.Contains($"delta chain of {_delta} loops", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_delta_is_never_built_on_a_chain_that_loops()
    {
        LoopOnItself();

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => DeltaBase.SelectAsync(_archive.Get<BackupCatalog>(),
            new PgArchiveOptions { DeltaMaxSteps = 5 }, new BackupPushRequest { DataDirectory = "/nonexistent" }, Bounded()));

        Assert.Contains($"delta chain of {_delta} loops", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_and_wal_show_carry_on_past_a_chain_that_loops()
    {
        LoopOnItself();
        var planner = _archive.Get<RetentionPlanner>();

        var plan = await planner.PlanAsync(RetentionRequest.Garbage(), Bounded());
        var timelines = await _archive.Get<PgArchive.Verification.WalTimelineReporter>().ReportAsync(cancellationToken: Bounded());

        Assert.Empty(plan.BackupsToDelete);
        Assert.Contains(plan.Notes, n => n.Contains($"delta chain of {_delta} loops", StringComparison.Ordinal));
        Assert.Equal(2, timelines.Single().Backups!.Count);
    }
}
