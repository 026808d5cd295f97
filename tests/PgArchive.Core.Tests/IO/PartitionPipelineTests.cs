using PgArchive.Backups;

namespace PgArchive.IO;

/// <summary>The partition pipeline behind parallel backup-push and backup-fetch: bounded, ordered, fail-fast.</summary>
public sealed class PartitionPipelineTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Runs_exactly_the_concurrency_at_once_and_returns_results_by_partition_number()
    {
        const int concurrency = 3;
        var inFlight = 0;
        var peak = 0;
        var gates = Enumerable.Range(0, 10).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var started = new SemaphoreSlim(0);

        var run = PartitionPipeline.RunAsync(gates.Length, concurrency, async (i, ct) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            started.Release();
            await gates[i].Task.WaitAsync(ct);
            Interlocked.Decrement(ref inFlight);
            return i * 10;
        }, Token);

        // The first three start; none more until one finishes. Release them last-first, so completion order differs from numbering.
        for (var i = 0; i < concurrency; i++)
        {
            await started.WaitAsync(Token);
        }

        Assert.Equal(concurrency, Volatile.Read(ref inFlight));
        for (var i = gates.Length - 1; i >= 0; i--)
        {
            gates[i].SetResult();
        }

        var results = await run;
        Assert.Equal(concurrency, peak);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i * 10), results);
    }

    [Fact]
    public async Task A_failed_partition_cancels_the_others_and_its_error_is_the_one_reported()
    {
        var cancelled = 0;
        var blockedStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new List<int>();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PartitionPipeline.RunAsync<int>(20, 2, async (i, ct) =>
        {
            lock (started)
            {
                started.Add(i);
            }

            if (i == 0)
            {
                blockedStarted.SetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                    throw;
                }
            }

            await blockedStarted.Task.WaitAsync(ct);
            throw new InvalidOperationException("partition " + i + " failed");
        }, Token));

        Assert.Equal("partition 1 failed", error.Message);
        Assert.Equal(1, cancelled);
        Assert.Equal([0, 1], started.Order());
    }

    [Fact]
    public async Task Caller_cancellation_stops_it()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var run = PartitionPipeline.RunAsync(5, 2, async (i, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return i;
        }, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Theory]
    [InlineData(1L << 30, 1_500_000_000L, 1, 1L << 30)]
    [InlineData(1L << 30, 1_500_000_000L, 2, 187_500_001L)]
    [InlineData(1L << 30, 100_000_000L, 2, 64L << 20)]
    [InlineData(32L << 20, 1_500_000_000L, 2, 32L << 20)]
    public void Partitions_are_cut_smaller_when_several_workers_share_them(long threshold, long total, int workers, long expected) =>
        Assert.Equal(expected, BackupPusher.BalancedThreshold(threshold, total, workers));

    [Fact]
    public void Partition_workers_never_exceed_processors_nor_the_setting()
    {
        Assert.Equal(1, BackupPusher.PartitionWorkers(1));
        Assert.Equal(Math.Min(16, Environment.ProcessorCount), BackupPusher.PartitionWorkers(16));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
