using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// <c>backup-push --resume</c>: finds the progress record of an interrupted backup of the same cluster, decides which
/// of its tar partitions the new backup can take as they are, and copies those into the new backup with their
/// stored bytes verified.
/// </summary>
/// <remarks>
/// A partition is reused only when every file in it still exists with the size and modification time recorded, and
/// that modification time is at least <see cref="MTimeMargin"/> older than the moment the partition's read began:
/// file times are coarse (a write in the same clock tick as the read would not change them), so a file written
/// shortly before or while it was read is read again. Such a file is then unchanged since before the new backup's
/// <c>pg_backup_start</c>, and WAL replay from the new start LSN covers whatever changes it afterwards, exactly as for
/// a file read now. Partitions holding <c>global/pg_control</c>, <c>backup_label</c> or <c>tablespace_map</c> are
/// never reused, nor any with corrupt pages or page increments.
/// </remarks>
internal static class BackupResume
{
    /// <summary>How much older than the start of its read a file's modification time must be for the copy to be trusted.</summary>
    public static readonly TimeSpan MTimeMargin = TimeSpan.FromSeconds(2);

    private static readonly HashSet<string> NeverReused = new(StringComparer.Ordinal) { "/global/pg_control", "/backup_label", "/tablespace_map" };

    /// <summary>What the new backup is, to match an interrupted one against.</summary>
    public sealed record Attempt(string BackupName, ulong SystemIdentifier, uint Timeline, int PgVersion, string CodecIdentity, bool PageChecksumsVerified);

    /// <summary>The verdict on one partition of the interrupted backup.</summary>
    public sealed record Decision(BackupProgressPartition Partition, bool Reusable, string? Reason);

    /// <summary>
    /// The progress record of the newest incomplete backup (no sentinel) other than the new one that the new backup
    /// may reuse from, or null with why none is usable. A backup that a backup-push may still be writing
    /// (<see cref="BackupClaim.StateOf"/>, judged at <paramref name="now"/>) is never used.
    /// </summary>
    public static async Task<(BackupProgress? Progress, string? Refused)> FindAsync(IObjectStore store, Attempt attempt, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var sentinels = new HashSet<string>(StringComparer.Ordinal);
        var candidates = new List<string>();
        var lastWritten = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        await foreach (var info in store.ListAsync(ArchiveLayout.BaseBackupsPrefix, cancellationToken).ConfigureAwait(false))
        {
            var rest = info.Key[ArchiveLayout.BaseBackupsPrefix.Length..];
            if (rest.EndsWith(ArchiveLayout.SentinelSuffix, StringComparison.Ordinal) && !rest.Contains('/', StringComparison.Ordinal))
            {
                sentinels.Add(rest[..^ArchiveLayout.SentinelSuffix.Length]);
                continue;
            }

            if (rest.IndexOf('/', StringComparison.Ordinal) is var slash and > 0)
            {
                var folder = rest[..slash];
                lastWritten[folder] = lastWritten.TryGetValue(folder, out var newest) && newest > info.LastModified ? newest : info.LastModified;
            }

            if (rest.EndsWith("/" + ArchiveLayout.ProgressObjectName, StringComparison.Ordinal))
            {
                var name = rest[..^(ArchiveLayout.ProgressObjectName.Length + 1)];
                if (BackupName.IsValid(name) && name != attempt.BackupName)
                {
                    candidates.Add(name);
                }
            }
        }

        var records = new List<BackupProgress>();
        foreach (var name in candidates.Where(n => !sentinels.Contains(n)))
        {
            if (await ReadAsync(store, name, cancellationToken).ConfigureAwait(false) is { } progress && progress.BackupName == name)
            {
                records.Add(progress);
            }
        }

        string? refused = null;
        foreach (var progress in records.OrderByDescending(p => p.StartTime).ThenByDescending(p => p.BackupName, StringComparer.Ordinal))
        {
            var written = lastWritten[progress.BackupName];
            refused = Incompatibility(progress, attempt)
                ?? (BackupClaim.Activity(BackupClaim.StateOf(progress, written, now), progress, written, now) is { } activity
                    ? $"{progress.BackupName} {activity}"
                    : null);
            if (refused is null)
            {
                return (progress, null);
            }
        }

        return (null, refused ?? "no interrupted backup with a progress record is in the archive");
    }

    /// <summary>Why <paramref name="previous"/> cannot be reused from by <paramref name="attempt"/> at all, or null when it can.</summary>
    public static string? Incompatibility(BackupProgress previous, Attempt attempt)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(attempt);
        if (previous.Version != BackupProgress.CurrentVersion)
        {
            return $"{previous.BackupName}'s progress record has format version {previous.Version}, not {BackupProgress.CurrentVersion}";
        }

        if (previous.SystemIdentifier != attempt.SystemIdentifier)
        {
            return $"{previous.BackupName} is of another cluster (system identifier {previous.SystemIdentifier}, this one is {attempt.SystemIdentifier})";
        }

        if (previous.Timeline != attempt.Timeline || previous.PgVersion != attempt.PgVersion)
        {
            return $"{previous.BackupName} was taken on timeline {previous.Timeline} of PostgreSQL {previous.PgVersion}, this backup on timeline {attempt.Timeline} of {attempt.PgVersion}";
        }

        if (!string.Equals(previous.CodecIdentity, attempt.CodecIdentity, StringComparison.Ordinal))
        {
            return $"{previous.BackupName} was compressed or encrypted otherwise (another method or key)";
        }

        if (attempt.PageChecksumsVerified && !previous.PageChecksumsVerified)
        {
            return $"{previous.BackupName} did not verify page checksums and this backup does";
        }

        return null;
    }

    /// <summary>
    /// The verdict on every partition of <paramref name="previous"/>, given what the new backup would store
    /// (<paramref name="entries"/>, scanned after its <c>pg_backup_start</c>) and each file's modification time now
    /// (<paramref name="modifiedTime"/>: null when it cannot be read).
    /// </summary>
    public static IReadOnlyList<Decision> Decide(BackupProgress previous, IReadOnlyList<DataDirectoryEntry> entries, Func<string, DateTime?> modifiedTime)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(modifiedTime);
        var files = new Dictionary<string, DataDirectoryEntry>(StringComparer.Ordinal);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.IsDirectory)
            {
                directories.Add(entry.TarPath);
            }
            else
            {
                files["/" + entry.TarPath] = entry;
            }
        }

        var claimed = new HashSet<string>(StringComparer.Ordinal);
        var decisions = new List<Decision>(previous.Partitions.Count);
        foreach (var partition in previous.Partitions)
        {
            var reason = Refusal(partition, files, directories, claimed, modifiedTime);
            if (reason is null)
            {
                claimed.UnionWith(partition.Files.Select(f => f.Path));
                claimed.UnionWith(partition.Directories);
            }

            decisions.Add(new Decision(partition, reason is null, reason));
        }

        return decisions;
    }

    private static string? Refusal(BackupProgressPartition partition, Dictionary<string, DataDirectoryEntry> files, HashSet<string> directories,
        HashSet<string> claimed, Func<string, DateTime?> modifiedTime)
    {
        if (!partition.ObjectName.StartsWith("part_", StringComparison.Ordinal) || partition.Stored.Size <= 0)
        {
            return "not a data partition";
        }

        if (partition.Files.Count == 0 && partition.Directories.Count == 0)
        {
            return "empty";
        }

        foreach (var directory in partition.Directories)
        {
            if (!directories.Contains(directory))
            {
                return $"directory {directory} is no longer in the data directory";
            }

            if (claimed.Contains(directory))
            {
                return $"directory {directory} is in another partition reused already";
            }
        }

        var notAfter = partition.ReadStartedAt - MTimeMargin;
        foreach (var file in partition.Files)
        {
            if (NeverReused.Contains(file.Path))
            {
                return $"{file.Path} is always read anew";
            }

            if (file.Description.CorruptBlocks is not null || file.Description.IsIncremented || file.Description.IsSkipped)
            {
                return $"{file.Path} was stored with corrupt pages or as a delta";
            }

            if (!files.TryGetValue(file.Path, out var entry))
            {
                return $"{file.Path} is no longer in the data directory";
            }

            if (claimed.Contains(file.Path))
            {
                return $"{file.Path} is in another partition reused already";
            }

            if (entry.Size != file.Size)
            {
                return $"{file.Path} changed size ({file.Size} → {entry.Size} bytes)";
            }

            var recorded = file.Description.MTime.UtcDateTime;
            if (modifiedTime(entry.FullPath) is not { } now || now.ToUniversalTime() != recorded)
            {
                return $"{file.Path} was modified since it was read";
            }

            if (file.Description.MTime > notAfter)
            {
                return $"{file.Path} was modified less than {MTimeMargin.TotalSeconds:0} s before its read began";
            }
        }

        return null;
    }

    /// <summary>
    /// Copies the stored partition <paramref name="sourceKey"/> to <paramref name="destinationKey"/> and makes sure the
    /// copy holds exactly the bytes recorded (<paramref name="expected"/>): within the store when it can copy (then the
    /// copy is read back and checked), otherwise by streaming it through, checked on the way. Returns null on
    /// success, or why the partition cannot be reused; a copy that failed its check is deleted.
    /// </summary>
    public static async Task<string?> CopyVerifiedAsync(IObjectStore store, string sourceKey, string destinationKey, StoredChecksum expected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(expected);
        var info = await store.GetInfoAsync(sourceKey, cancellationToken).ConfigureAwait(false);
        if (info is null)
        {
            return $"{sourceKey} is no longer in the store";
        }

        if (info.Size != expected.Size)
        {
            return $"{sourceKey} holds {info.Size} bytes, {expected.Size} were recorded";
        }

        try
        {
            if (store is IObjectCopier { CanCopy: true } copier)
            {
                await copier.CopyAsync(sourceKey, destinationKey, cancellationToken).ConfigureAwait(false);
                var copy = new ChecksumVerifyingStream(await store.OpenReadAsync(destinationKey, null, cancellationToken).ConfigureAwait(false), destinationKey, expected);
                await using (copy.ConfigureAwait(false))
                {
                    await copy.ReadToEndAndVerifyAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                var source = new ChecksumVerifyingStream(await store.OpenReadAsync(sourceKey, null, cancellationToken).ConfigureAwait(false), sourceKey, expected);
                await using (source.ConfigureAwait(false))
                {
                    await store.PutAsync(destinationKey, source, PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is ObjectCorruptException || (ex is ObjectStoreException { Kind: ObjectStoreErrorKind.NotFound }))
        {
            await store.DeleteAsync([destinationKey], cancellationToken).ConfigureAwait(false);
            return ex.Message;
        }
    }

    /// <summary>Reads one JSON object of the archive (a progress record) through the bounded reader.</summary>
    internal static Task<T?> ReadJsonAsync<T>(IObjectStore store, string key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo,
        CancellationToken cancellationToken)
        where T : class =>
        StoredJson.ReadAsync(store, key, typeInfo, BackupJsonKinds.Progress, null, cancellationToken);

    private static async Task<BackupProgress?> ReadAsync(IObjectStore store, string backupName, CancellationToken cancellationToken)
    {
        try
        {
            var progress = await ReadJsonAsync(store, ArchiveLayout.ProgressKey(backupName), PgArchiveJsonContext.Default.BackupProgress, cancellationToken)
                .ConfigureAwait(false);
            if (progress is null)
            {
                return null;
            }

            progress.Partitions.Clear();
            await foreach (var info in store.ListAsync(ArchiveLayout.ProgressPartitionsPrefix(backupName), cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    if (await ReadJsonAsync(store, info.Key, PgArchiveJsonContext.Default.BackupProgressPartition, cancellationToken).ConfigureAwait(false) is { } partition
                        && info.Key == ArchiveLayout.ProgressPartitionKey(backupName, partition.ObjectName))
                    {
                        progress.Partitions.Add(partition);
                    }
                }
                catch (ObjectCorruptException)
                {
                    // a damaged (or, with authentication on, unauthenticated) partition record: that partition is simply not reused
                }
            }

            progress.Partitions.Sort((a, b) => string.CompareOrdinal(a.ObjectName, b.ObjectName));
            return progress;
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
        {
            return null; // deleted since it was listed
        }
        catch (ObjectCorruptException)
        {
            return null; // not one of ours, damaged or not authenticated: nothing to reuse from it
        }
    }
}
