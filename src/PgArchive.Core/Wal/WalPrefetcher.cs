using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.IO;
using PgArchive.PostgresTypes;

namespace PgArchive.Wal;

/// <summary>
/// restore_command without one download per segment: after a wal-fetch, the segments that follow on the same
/// timeline are downloaded into a prefetch directory (WAL-G's <c>pg_wal/.wal-g/prefetch</c> by default), each
/// first into its <c>running/</c> subdirectory and renamed into place once complete. A later wal-fetch takes
/// its segment from there (a rename) when the file is valid: its name asked for, a WAL segment size, and a
/// first page header naming the same timeline and position. Anything else there is ignored and removed.
/// </summary>
public sealed partial class WalPrefetcher
{
    private readonly WalArchiver _archiver;
    private readonly ILogger _logger;

    /// <summary>Creates the prefetcher over <paramref name="archiver"/>.</summary>
    public WalPrefetcher(WalArchiver archiver, ILogger<WalPrefetcher>? logger = null)
    {
        _archiver = archiver ?? throw new ArgumentNullException(nameof(archiver));
        _logger = logger ?? NullLogger<WalPrefetcher>.Instance;
    }

    /// <summary>WAL-G's default prefetch directory for a restore_command writing to <paramref name="destinationPath"/> (in pg_wal).</summary>
    public static string DefaultDirectory(string destinationPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(destinationPath))!, ".wal-g", "prefetch");

    /// <summary>
    /// Moves the prefetched <paramref name="walFileName"/> to <paramref name="destinationPath"/> when it is there
    /// and valid; true when it did. Prefetched files of the same timeline that come before it are removed, as
    /// is an invalid one. Never throws for what it finds in the directory: false sends the caller to the store.
    /// </summary>
    public static bool TryTake(string prefetchDirectory, string walFileName, string destinationPath)
    {
        if (!WalSegment.TryParse(walFileName, out var wanted))
        {
            return false;
        }

        try
        {
            if (!Directory.Exists(prefetchDirectory))
            {
                return false;
            }

            RemoveOlder(prefetchDirectory, wanted);
            var prefetched = Path.Combine(prefetchDirectory, walFileName);
            if (!File.Exists(prefetched))
            {
                return false;
            }

            if (!IsValidSegment(prefetched, wanted))
            {
                File.Delete(prefetched);
                return false;
            }

            File.Move(prefetched, Path.GetFullPath(destinationPath), overwrite: true);
            Durability.FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(destinationPath))!);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Downloads up to <paramref name="count"/> segments after <paramref name="walFileName"/> on its timeline into
    /// <paramref name="prefetchDirectory"/>, <paramref name="concurrency"/> at a time: those one listing finds in the archive.
    /// Returns how many were prefetched.
    /// </summary>
    public async Task<int> PrefetchAsync(string walFileName, string prefetchDirectory, int count, int concurrency, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        if (count <= 0 || !WalSegment.TryParse(walFileName, out var current))
        {
            return 0;
        }

        var running = Path.Combine(prefetchDirectory, "running");
        UnixFiles.CreatePrivateDirectory(running);
        var next = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            current = current.Next();
            next.Add(current.FileName);
        }

        // One listing tells which of them are archived yet (a standby asks ahead of the archive).
        var wanted = next.Where(n => !File.Exists(Path.Combine(prefetchDirectory, n))).ToList();
        var located = wanted.Count == 0 ? [] : await _archiver.LocateAsync(wanted, cancellationToken).ConfigureAwait(false);
        var archived = wanted.Where(located.ContainsKey).ToList();
        var fetched = await PartitionPipeline.RunAsync(archived.Count, concurrency, async (i, ct) =>
        {
            var name = archived[i];
            var target = Path.Combine(prefetchDirectory, name);
            var inProgress = Path.Combine(running, name);
            try
            {
                await _archiver.FetchLocatedAsync(name, located[name], inProgress, ct).ConfigureAwait(false);
                File.Move(inProgress, target, overwrite: true);
                LogMessages.Prefetched(_logger, name);
                return true;
            }
            catch (WalFileNotFoundException)
            {
                return false;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                TryDelete(inProgress);
                LogMessages.PrefetchFailed(_logger, name, ex.Message);
                return false;
            }
        }, cancellationToken).ConfigureAwait(false);
        return fetched.Count(f => f);
    }

    /// <summary>A WAL segment of the expected size whose first page header names its timeline and position.</summary>
    internal static bool IsValidSegment(string path, WalSegment expected)
    {
        var length = new FileInfo(path).Length;
        if (length < 1 << 20 || length > 1 << 30 || (length & (length - 1)) != 0)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[WalLongPageHeader.Size];
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
        {
            if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            {
                return false;
            }
        }

        var parsed = WalLongPageHeader.Read(header);
        // Stricter than wal-fetch's check: a prefetched file of an older timeline's pages is downloaded again, never guessed at.
        return parsed.SegmentSize == length && parsed.Timeline == expected.Timeline && parsed.Mismatch(expected.FileName) is null;
    }

    private static void RemoveOlder(string prefetchDirectory, WalSegment wanted)
    {
        foreach (var path in Directory.EnumerateFiles(prefetchDirectory))
        {
            var name = Path.GetFileName(path);
            if (WalSegment.TryParse(name, out var segment) && segment.Timeline == wanted.Timeline && string.CompareOrdinal(name, wanted.FileName) < 0)
            {
                TryDelete(path);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static partial class LogMessages
    {
        [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "Prefetched {WalFile}")]
        public static partial void Prefetched(ILogger logger, string walFile);

        [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Prefetching {WalFile} failed ({Reason}); wal-fetch will download it when asked")]
        public static partial void PrefetchFailed(ILogger logger, string walFile, string reason);
    }
}
