using System.Globalization;
using System.Text.Json;
using PgArchive.Backups.Delta;
using PgArchive.Compression;
using PgArchive.Diagnostics;
using PgArchive.Storage;

namespace PgArchive.Backups;

// backup-push --resume: the partitions of an interrupted backup whose files have not changed since are copied into
// the new backup (verified against the size and XXH128 recorded when they were stored) instead of being read,
// compressed and uploaded again. They are numbered first (part_001 …), the partitions read now after them, and
// files_metadata.json lists them exactly as if they had been written by this run. See BackupResume for the rules.
public sealed partial class BackupPusher
{
    /// <summary>What was taken over from an interrupted backup.</summary>
    private sealed record ResumeOutcome(string From, int Partitions, long StoredBytes, List<DataDirectoryEntry> Remaining);

    private async Task<ResumeOutcome?> ResumeAsync(ProgressRecorder progress, DeltaBase? deltaBase, List<DataDirectoryEntry> entries, ICompressor compressor,
        FilesMetadata files, Totals totals, CancellationToken cancellationToken)
    {
        var record = progress.Record;
        if (deltaBase is not null)
        {
            Log.ResumeNotPossible(_logger, "this is a delta backup, which is always taken fresh");
            return null;
        }

        if (record.CodecIdentity.Length == 0)
        {
            Log.ResumeNotPossible(_logger, "the interrupted backup's record does not name the key it was encrypted with");
            return null;
        }

        var attempt = new BackupResume.Attempt(record.BackupName, record.SystemIdentifier, record.Timeline, record.PgVersion, record.CodecIdentity, record.PageChecksumsVerified);
        var (previous, refused) = await BackupResume.FindAsync(_store, attempt, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (previous is null)
        {
            Log.ResumeNotPossible(_logger, refused!);
            return null;
        }

        var decisions = BackupResume.Decide(previous, entries, ModifiedNow);
        Log.ResumeFound(_logger, previous.BackupName, decisions.Count(d => d.Reusable), decisions.Count);
        var reusedPaths = new HashSet<string>(StringComparer.Ordinal);
        var reused = new List<BackupProgressPartition>();
        long storedBytes = 0;
        foreach (var decision in decisions)
        {
            var old = decision.Partition;
            var sourceKey = ArchiveLayout.TarPartitionsPrefix(previous.BackupName) + old.ObjectName;
            var refusal = decision.Reason;
            var objectName = CompressorRegistry.WithExtension(string.Create(CultureInfo.InvariantCulture, $"part_{reused.Count + 1:D3}.tar"), compressor);
            if (refusal is null && !old.ObjectName.EndsWith(objectName[objectName.IndexOf(".tar", StringComparison.Ordinal)..], StringComparison.Ordinal))
            {
                refusal = "it was compressed with another method";
            }

            refusal ??= await BackupResume.CopyVerifiedAsync(_store, sourceKey, ArchiveLayout.TarPartitionsPrefix(record.BackupName) + objectName, old.Stored, cancellationToken)
                .ConfigureAwait(false);
            if (refusal is not null)
            {
                Log.PartitionNotReused(_logger, sourceKey, refusal);
                continue;
            }

            var paths = old.Files.Select(f => f.Path).ToList();
            foreach (var file in old.Files)
            {
                files.Files[file.Path] = file.Description;
                totals.FileBytes += file.Size;
                totals.Files++;
                totals.Progress?.Report(new TransferProgress(totals.Shared.AddBytes(file.Size), totals.ExpectedBytes, file.Path.TrimStart('/')));
            }

            files.TarFileSets[objectName] = paths;
            files.TarChecksums ??= new(StringComparer.Ordinal);
            files.TarChecksums[objectName] = old.Stored;
            totals.TarBytes += old.TarBytes;
            totals.StoredBytes += old.Stored.Size;
            totals.PagesVerified += old.PagesVerified;
            storedBytes += old.Stored.Size;
            reusedPaths.UnionWith(paths);
            reusedPaths.UnionWith(old.Directories.Select(d => "/" + d));
            reused.Add(new BackupProgressPartition
            {
                ObjectName = objectName,
                Stored = old.Stored,
                TarBytes = old.TarBytes,
                ReadStartedAt = old.ReadStartedAt, // when its files were read, which is what the next resume must judge by
                PagesVerified = old.PagesVerified,
                Directories = old.Directories,
                Files = old.Files,
            });
            Log.PartitionReused(_logger, sourceKey, objectName, old.Files.Count, old.Stored.Size);
        }

        if (reused.Count > 0)
        {
            await progress.AddAsync(reused, cancellationToken).ConfigureAwait(false);
        }

        var remaining = entries.Where(e => !reusedPaths.Contains("/" + e.TarPath)).ToList();
        return new ResumeOutcome(previous.BackupName, reused.Count, storedBytes, remaining);
    }

    private static DateTime? ModifiedNow(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? info.LastWriteTimeUtc : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Compression method and encryption identity of what this pusher writes.</summary>
    private string CodecIdentity(ICompressor compressor) => "compression:" + compressor.FileExtension + ";encryption:" + _codec.EncryptionIdentity;

    /// <summary>
    /// Keeps the progress record of the backup being written: its header (<c>pgarchive_progress.json</c>) is the claim,
    /// stored before anything else (<see cref="BackupClaim"/>); then one put per partition
    /// (<c>pgarchive_progress/&lt;partition&gt;.json</c>), so the cost stays linear in the number of partitions. The
    /// claim's release removes them all once the sentinel is stored.
    /// </summary>
    private sealed class ProgressRecorder(BackupPusher owner, BackupProgress record) : IDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);

        public BackupProgress Record => record;

        public async Task AddAsync(IReadOnlyList<BackupProgressPartition> partitions, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                record.Partitions.AddRange(partitions);
            }
            finally
            {
                _gate.Release();
            }

            foreach (var partition in partitions)
            {
                await owner.PutJsonAsync(ArchiveLayout.ProgressPartitionKey(record.BackupName, partition.ObjectName), partition,
                    PgArchiveJsonContext.Default.BackupProgressPartition, cancellationToken).ConfigureAwait(false);
            }
        }

        public void Dispose() => _gate.Dispose();
    }
}
