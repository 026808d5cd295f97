using Polly;
using PgArchive.Storage;

namespace PgArchive.Backups;

// A tar partition is streamed (tar → compress → encrypt → store) and cannot be rewound, so the store's retry
// layer does not repeat its put: a transient failure re-runs the whole partition here, reading its files again.
// That is as valid as the first attempt: files may change during an online backup, WAL replay from the
// backup's start LSN makes them consistent. The totals the failed attempt counted are rolled back first.
public sealed partial class BackupPusher
{
    private ResiliencePipeline? _partitionRetry;

    private async Task RetryPartitionAsync(Totals totals, Func<CancellationToken, Task> upload, CancellationToken cancellationToken)
    {
        _partitionRetry ??= StoreRetry.Build(_options, _time, _logger, _store);
        await _partitionRetry.ExecuteAsync(async ct =>
        {
            var before = totals.Snapshot();
            try
            {
                await upload(ct).ConfigureAwait(false);
            }
            catch (ObjectStoreException ex) when (ex.IsTransient)
            {
                totals.Restore(before);
                throw;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private sealed partial class Totals
    {
        public (long TarBytes, long StoredBytes, long FileBytes, int Files, long PagesVerified, int IncrementedFiles, int CorruptFiles,
            (long Pages, long BytesRead, long FileBytes) Increments) Snapshot() =>
            (TarBytes, StoredBytes, FileBytes, Files, PagesVerified, IncrementedFiles, CorruptFiles.Count, (IncrementPages, IncrementBytesRead, IncrementFileBytes));

        public void Restore((long TarBytes, long StoredBytes, long FileBytes, int Files, long PagesVerified, int IncrementedFiles, int CorruptFiles,
            (long Pages, long BytesRead, long FileBytes) Increments) s)
        {
            (TarBytes, StoredBytes, FileBytes, Files, PagesVerified, IncrementedFiles) = (s.TarBytes, s.StoredBytes, s.FileBytes, s.Files, s.PagesVerified, s.IncrementedFiles);
            (IncrementPages, IncrementBytesRead, IncrementFileBytes) = s.Increments;
            CorruptFiles.RemoveRange(s.CorruptFiles, CorruptFiles.Count - s.CorruptFiles);
        }
    }
}
