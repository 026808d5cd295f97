using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PgArchive.Diagnostics;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// A backup-push's exclusive hold on its backup name. Backups are named after the WAL segment they start in, and two
/// backup-push that start together get the same name (PostgreSQL gives them distinct start LSNs in one segment; a
/// standby repeats its start until its next restartpoint). So before anything of the backup is stored, its progress
/// record <c>basebackups_005/&lt;name&gt;/pgarchive_progress.json</c> is stored create-only
/// (<see cref="PutMode.CreateNew"/>): exactly one run gets it, and every other fails before writing anything.
/// </summary>
/// <remarks>
/// <para>The record names the claimant (host, process id, a random <see cref="BackupProgress.ClaimId"/>). Its holder
/// rewrites it every <see cref="HeartbeatInterval"/>, so its modification time says the backup is still being written,
/// and stops if it finds it replaced or gone (<see cref="ThrowIfLost"/>). Before the sentinel,
/// <see cref="ConfirmAsync"/> checks once more that the claim is this run's and that the backup's tar partitions are
/// exactly the ones it stored; the sentinel is then stored create-only too, and the claim removed.</para>
/// <para>How atomic the create-only put is depends on the store: local filesystem (link(2)), Azure
/// (<c>If-None-Match: *</c>), GCS (<c>ifGenerationMatch=0</c>) and S3 servers that honour <c>If-None-Match</c> decide
/// on the server; Swift checks <c>If-None-Match</c> when a PUT starts, and S3 servers that ignore the header leave a
/// HEAD check, so there two claims put at the same instant can both succeed. The heartbeat and the checks before the
/// sentinel then stop the run whose claim was replaced instead of letting it finish a backup that another wrote into.</para>
/// <para>An unfinished backup counts as being written (<see cref="StateOf"/>) until its claim says it was
/// <see cref="BackupProgress.Interrupted"/>, while the process named in its claim runs (checked when the claim was made
/// on this host), or else while its newest object is younger than <see cref="IdleAfter"/>. <c>delete</c> leaves such
/// backups alone and <c>backup-push --resume</c> does not reuse them.</para>
/// </remarks>
internal sealed class BackupClaim : IAsyncDisposable
{
    /// <summary>How often the holder rewrites its claim.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMinutes(1);

    /// <summary>How long after its last write an unfinished backup of another host (or of an earlier version) may still be being written.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(10);

    private readonly IObjectStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly byte[] _bytes;
    private readonly CancellationTokenSource _stopHeartbeat = new();
    private Task _heartbeat = Task.CompletedTask;
    private volatile string? _lost;
    private bool _held;
    private bool _disposed;

    private BackupClaim(IObjectStore store, BackupProgress record, TimeProvider time, ILogger logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
        Record = record;
        _bytes = JsonSerializer.SerializeToUtf8Bytes(record, PgArchiveJsonContext.Default.BackupProgress);
    }

    /// <summary>What is known of the backup-push writing an unfinished backup.</summary>
    public enum WriterState
    {
        /// <summary>Its process still runs on this host.</summary>
        Running,

        /// <summary>Its claim says it was interrupted, or its process on this host has ended.</summary>
        Ended,

        /// <summary>Another host's (or unknown): something of the backup was written less than <see cref="IdleAfter"/> ago.</summary>
        RecentlyActive,

        /// <summary>Another host's (or unknown), and nothing written for <see cref="IdleAfter"/>.</summary>
        Idle,
    }

    /// <summary>The record stored as the claim (without partitions).</summary>
    public BackupProgress Record { get; }

    private string Name => Record.BackupName;

    private string Key => ArchiveLayout.ProgressKey(Name);

    /// <summary>
    /// Claims <see cref="BackupProgress.BackupName"/> for <paramref name="record"/> (filling in who claims it), removes what an
    /// unfinished run that no longer holds the name left under it, and starts the heartbeat.
    /// </summary>
    /// <exception cref="PgArchiveException">Another backup-push holds the name, or a backup of that name exists.</exception>
    public static async Task<BackupClaim> AcquireAsync(IObjectStore store, BackupProgress record, TimeProvider time, ILogger logger,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(record);
        record.ClaimId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        record.Hostname = Environment.MachineName;
        record.ProcessId = Environment.ProcessId;
        var claim = new BackupClaim(store, record, time, logger);
        try
        {
            await claim.StoreAsync(cancellationToken).ConfigureAwait(false);
            await claim.RemoveLeftoversAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await claim.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        claim._heartbeat = claim.BeatAsync(claim._stopHeartbeat.Token);
        return claim;
    }

    /// <summary>Stores the claim create-only; refuses the name when another run holds it or its backup is complete.</summary>
    private async Task StoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _store.PutAsync(Key, new MemoryStream(_bytes, writable: false), PutMode.CreateNew, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
        {
            var holder = await ReadAsync(_store, Name, cancellationToken).ConfigureAwait(false);
            if (holder.Record?.ClaimId != Record.ClaimId) // else: our own put, whose acknowledgement was lost and retried
            {
                throw await RefusalAsync(_store, Name, holder.Record, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            }
        }

        _held = true;
        // Checked after the claim: a backup of this name that finished just before has released its claim by now.
        if (await _store.GetInfoAsync(ArchiveLayout.SentinelKey(Name), cancellationToken).ConfigureAwait(false) is not null)
        {
            _held = false;
            await _store.DeleteAsync([Key], cancellationToken).ConfigureAwait(false);
            throw Complete(Name);
        }
    }

    /// <summary>Throws when the heartbeat found the claim replaced or removed: this run must not write into the backup any more.</summary>
    public void ThrowIfLost()
    {
        if (_lost is { } why)
        {
            throw Lost(why);
        }
    }

    /// <summary>
    /// Just before the sentinel: stops the heartbeat, then checks that the claim is still this run's, that no sentinel
    /// exists, and that the backup's tar partitions are exactly <paramref name="stored"/> (object name → stored size).
    /// </summary>
    public async Task ConfirmAsync(IReadOnlyDictionary<string, StoredChecksum> stored, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stored);
        await StopHeartbeatAsync().ConfigureAwait(false);
        ThrowIfLost();
        var holder = await ReadAsync(_store, Name, cancellationToken).ConfigureAwait(false);
        if (holder.Record?.ClaimId != Record.ClaimId)
        {
            throw Lost(LostReason(holder));
        }

        if (await _store.GetInfoAsync(ArchiveLayout.SentinelKey(Name), cancellationToken).ConfigureAwait(false) is not null)
        {
            throw Changed($"{ArchiveLayout.SentinelKey(Name)} was stored by another process");
        }

        var prefix = ArchiveLayout.TarPartitionsPrefix(Name);
        var found = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var info in _store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            found[info.Key[prefix.Length..]] = info.Size;
        }

        foreach (var (objectName, checksum) in stored)
        {
            // A listing may lag behind a put (Swift's container listings do): what it lacks is looked up directly.
            var size = found.TryGetValue(objectName, out var listed) ? listed
                : (await _store.GetInfoAsync(prefix + objectName, cancellationToken).ConfigureAwait(false))?.Size;
            if (size != checksum.Size)
            {
                throw Changed(size is null
                    ? $"{prefix}{objectName} is gone"
                    : string.Create(CultureInfo.InvariantCulture, $"{prefix}{objectName} holds {size} bytes, this backup-push stored {checksum.Size}"));
            }
        }

        if (found.Keys.FirstOrDefault(k => !stored.ContainsKey(k)) is { } extra)
        {
            throw Changed($"{prefix}{extra} was not stored by this backup-push");
        }
    }

    /// <summary>After the sentinel: removes the claim and the partition records. A failure leaves harmless objects and is only logged.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        await StopHeartbeatAsync().ConfigureAwait(false);
        _held = false;
        try
        {
            var keys = new List<string> { Key };
            await foreach (var info in _store.ListAsync(ArchiveLayout.ProgressPartitionsPrefix(Name), cancellationToken).ConfigureAwait(false))
            {
                keys.Add(info.Key);
            }

            await _store.DeleteAsync(keys, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex)
        {
            Log.ProgressNotRemoved(_logger, Name, ex.Message);
        }
    }

    /// <summary>
    /// Stops the heartbeat. Unless the claim was released (the backup is complete), it stays, for <c>--resume</c>, marked
    /// <see cref="BackupProgress.Interrupted"/> if it is still this run's: best effort, also after a cancellation.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopHeartbeatAsync().ConfigureAwait(false);
        _stopHeartbeat.Dispose();
        if (!_held)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            if ((await ReadAsync(_store, Name, timeout.Token).ConfigureAwait(false)).Record?.ClaimId == Record.ClaimId)
            {
                Record.Interrupted = true;
                var bytes = JsonSerializer.SerializeToUtf8Bytes(Record, PgArchiveJsonContext.Default.BackupProgress);
                await _store.PutAsync(Key, new MemoryStream(bytes, writable: false), PutMode.Overwrite, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is ObjectStoreException or OperationCanceledException)
        {
            Log.ClaimNotMarkedInterrupted(_logger, Name, ex.Message);
        }
    }

    /// <summary>
    /// What is known of the writer of an unfinished backup whose claim is <paramref name="claim"/> (null: none, or
    /// unreadable) and whose newest object was written at <paramref name="lastWritten"/>.
    /// </summary>
    public static WriterState StateOf(BackupProgress? claim, DateTimeOffset lastWritten, DateTimeOffset now)
    {
        if (claim is { Interrupted: true })
        {
            return WriterState.Ended;
        }

        if (claim is { ProcessId: > 0 } && string.Equals(claim.Hostname, Environment.MachineName, StringComparison.Ordinal))
        {
            return ProcessRuns(claim.ProcessId, claim.StartTime) ? WriterState.Running : WriterState.Ended;
        }

        return now - lastWritten < IdleAfter ? WriterState.RecentlyActive : WriterState.Idle;
    }

    /// <summary>
    /// How an unfinished backup in <paramref name="state"/> is being written, as a predicate ("is still being written
    /// by ..."), or null when it is not (its writer ended, or nothing was written for <see cref="IdleAfter"/>).
    /// </summary>
    public static string? Activity(WriterState state, BackupProgress? claim, DateTimeOffset lastWritten, DateTimeOffset now) => state switch
    {
        WriterState.Running => $"is still being written by a running backup-push ({Describe(claim)})",
        WriterState.RecentlyActive => string.Create(CultureInfo.InvariantCulture,
            $"may still be being written: it was last written {(now - lastWritten).TotalMinutes:0.#} min ago by {Describe(claim)}, and counts as interrupted after {IdleAfter.TotalMinutes:0} min without a write"),
        _ => null,
    };

    /// <summary>The claim of <paramref name="backupName"/> as stored: whether the object exists, and its record when it is readable.</summary>
    public static async Task<(bool Exists, BackupProgress? Record)> ReadAsync(IObjectStore store, string backupName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        try
        {
            // The bounded reader returns null when there is no object.
            var record = await BackupResume.ReadJsonAsync(store, ArchiveLayout.ProgressKey(backupName), PgArchiveJsonContext.Default.BackupProgress, cancellationToken)
                .ConfigureAwait(false);
            return (record is not null, record);
        }
        catch (ObjectCorruptException)
        {
            return (true, null); // there, but not readable (damaged, or not authenticated)
        }
    }

    private static string Describe(BackupProgress? claim) => claim is { Hostname.Length: > 0 } c
        ? string.Create(CultureInfo.InvariantCulture, $"process {c.ProcessId} on {c.Hostname}, started {c.StartTime.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC")
        : "a backup-push whose claim does not say where it runs";

    private static bool ProcessRuns(int processId, DateTimeOffset claimedAt)
    {
        if (processId == Environment.ProcessId)
        {
            return true;
        }

        try
        {
            using var process = Process.GetProcessById(processId);
            // A process that started after the claim was made only reuses the id.
            return process.StartTime.ToUniversalTime() <= claimedAt.UtcDateTime.AddSeconds(1);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return false; // no such process, or it has exited
        }
        catch (Exception ex) when (ex is Win32Exception or NotSupportedException)
        {
            return true; // cannot tell: as if it ran
        }
    }

    private static async Task<PgArchiveException> RefusalAsync(IObjectStore store, string backupName, BackupProgress? holder, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (await store.GetInfoAsync(ArchiveLayout.SentinelKey(backupName), cancellationToken).ConfigureAwait(false) is not null)
        {
            return Complete(backupName);
        }

        var lastWritten = (await store.GetInfoAsync(ArchiveLayout.ProgressKey(backupName), cancellationToken).ConfigureAwait(false))?.LastModified ?? now;
        return StateOf(holder, lastWritten, now) == WriterState.Ended
            ? new PgArchiveException(
                $"Backup {backupName} was claimed by another backup-push ({Describe(holder)}) that ended without finishing it. " +
                "Backups that start in the same WAL segment share a name, and a standby starts each backup at its last restartpoint: " +
                "run CHECKPOINT on the primary and retry ('delete garbage' removes the unfinished backup once a newer backup exists).")
            : new PgArchiveException(
                $"Backup {backupName} is being written by another backup-push ({Describe(holder)}): backups that start in the same WAL segment " +
                "share a name, and only one may write it. Run backup-push again once that one has finished.");
    }

    private static PgArchiveException Complete(string backupName) => new(
        $"A backup named {backupName} already exists: another backup-push started in the same WAL segment and finished it. " +
        "Write some data or run SELECT pg_switch_wal() and retry.");

    private PgArchiveException Lost(string why) => new(
        $"Backup {Name} is no longer claimed by this backup-push: {ArchiveLayout.ProgressKey(Name)} {why}. " +
        "Another backup-push or a delete may have written or removed parts of it; it was not made visible. Run backup-push again.");

    private PgArchiveException Changed(string what) => new(
        $"Backup {Name} was changed by another process while this backup-push wrote it ({what}); it was not made visible. Run backup-push again.");

    private static string LostReason((bool Exists, BackupProgress? Record) holder) => holder switch
    {
        (false, _) => "was removed",
        (true, { } other) => $"now names another backup-push ({Describe(other)})",
        _ => "was replaced by an unreadable object",
    };

    /// <summary>Every <see cref="HeartbeatInterval"/>: rewrites the claim if it is still this run's, else records that it was lost and stops.</summary>
    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    var holder = await ReadAsync(_store, Name, cancellationToken).ConfigureAwait(false);
                    if (holder.Record?.ClaimId != Record.ClaimId)
                    {
                        _lost = LostReason(holder);
                        return;
                    }

                    await _store.PutAsync(Key, new MemoryStream(_bytes, writable: false), PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
                }
                catch (ObjectStoreException ex)
                {
                    Log.ClaimNotRefreshed(_logger, Name, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task StopHeartbeatAsync()
    {
        await _stopHeartbeat.CancelAsync().ConfigureAwait(false);
        await _heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Objects under the backup's folder other than the claim: left by a run that no longer holds the name (it removed its claim, or predates claims).</summary>
    private async Task RemoveLeftoversAsync(CancellationToken cancellationToken)
    {
        var leftovers = new List<string>();
        await foreach (var info in _store.ListAsync(ArchiveLayout.BackupPrefix(Name), cancellationToken).ConfigureAwait(false))
        {
            if (info.Key != Key)
            {
                leftovers.Add(info.Key);
            }
        }

        if (leftovers.Count > 0)
        {
            await _store.DeleteAsync(leftovers, cancellationToken).ConfigureAwait(false);
            Log.ClaimLeftoversRemoved(_logger, leftovers.Count, ArchiveLayout.BackupPrefix(Name));
        }
    }
}
