using System.Diagnostics;
using PgArchive.Diagnostics;
using PgArchive.Postgres;
using PgArchive.Wal;

namespace PgArchive.Backups;

// A backup taken on a hot standby: PostgreSQL starts and stops it there (pg_backup_start / pg_backup_stop work in
// recovery), the start and stop LSNs and timelines are the standby's, and the WAL from start to stop comes from the
// archive, written by the primary (archive_command) or by the standby itself (archive_mode = always). The standby
// cannot switch WAL segments, so the stop segment reaches the archive once the primary finishes it (archive_timeout,
// pg_switch_wal() or more writes): backup-push waits for it in the archive, whoever writes it.
public sealed partial class BackupPusher
{
    private const string WalSourceAdvice =
        "archive the primary's WAL into this archive (archive_command = 'pgarchive wal-push %p' with these settings), " +
        "or set archive_mode = always and that archive_command on the standby";

    /// <summary>
    /// On a standby that does not archive (archive_mode other than always), refuses when the archive holds no WAL of the
    /// standby's timeline: nothing would ever bring the WAL the backup needs.
    /// </summary>
    private async Task CheckWalSourceAsync(ServerInfo server, CancellationToken cancellationToken)
    {
        if (!server.IsInRecovery || server.ArchiveMode == "always")
        {
            return;
        }

        if (!await WalLocator.HoldsTimelineAsync(_store, server.Timeline, cancellationToken).ConfigureAwait(false))
        {
            throw new PgArchiveException(
                $"The server is a standby (archive_mode = {server.ArchiveMode}) and the archive holds no WAL of its timeline {server.Timeline}: " +
                $"a backup taken on a standby needs the WAL it replays in the archive; {WalSourceAdvice}.");
        }
    }

    /// <summary>Waits until the archive holds <paramref name="walFile"/>, the segment holding the last byte the backup needs.</summary>
    private async Task WaitForArchivedSegmentAsync(string walFile, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var nextReport = TimeSpan.FromSeconds(60);
        var delay = TimeSpan.FromMilliseconds(100);
        while ((await WalLocator.LocateAsync(_store, _codec.Compressors, [walFile], cancellationToken).ConfigureAwait(false)).Count == 0)
        {
            if (started.Elapsed >= nextReport)
            {
                Log.WaitingForStandbyWal(_logger, walFile, (int)started.Elapsed.TotalSeconds);
                nextReport += TimeSpan.FromSeconds(60);
            }

            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }
}
