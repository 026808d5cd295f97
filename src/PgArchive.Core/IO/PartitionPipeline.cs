namespace PgArchive.IO;

/// <summary>
/// Runs the work of numbered partitions (tar + compress + upload, or download + decompress + extract) with at
/// most a given number in flight. Partitions start in their numbered order; results come back indexed by
/// number whatever order they finish in, so what is recorded of them stays deterministic. The first failure
/// cancels the partitions still running and is the one reported.
/// </summary>
internal static class PartitionPipeline
{
    public static async Task<T[]> RunAsync<T>(int count, int concurrency, Func<int, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        ArgumentNullException.ThrowIfNull(work);
        var results = new T[count];
        if (count == 0)
        {
            return results;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var next = -1;
        Exception? firstFailure = null;
        var failureLock = new object();

        async Task WorkerAsync()
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
            {
                if (linked.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    results[index] = await work(index, linked.Token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    lock (failureLock)
                    {
                        // A partition cancelled because another failed is not the failure to report.
                        if (firstFailure is null || (firstFailure is OperationCanceledException && ex is not OperationCanceledException))
                        {
                            firstFailure = ex;
                        }
                    }

                    await linked.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }

        var workers = new Task[Math.Min(count, concurrency)];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(WorkerAsync, CancellationToken.None);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        if (firstFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstFailure);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return results;
    }
}
