using System.Diagnostics;
using Microsoft.Extensions.Logging;
using PgArchive.Diagnostics;
using PgArchive.PostgresTypes;
using PgArchive.Storage;

namespace PgArchive.Wal.Records;

/// <summary>
/// Block maps in the archive under <c>wal_blockmaps_005/</c>, stored through the same codec (compression,
/// encryption, authentication) as every other archive object.
/// </summary>
internal sealed class WalBlockMapStore(IObjectStore store, ObjectCodec codec)
{
    /// <summary>A decoded map larger than this is refused as corrupt (a 16 MiB segment's map is a few hundred KiB at most).</summary>
    private const int MaxMapBytes = 64 << 20;

    /// <summary>Parses the WAL file at <paramref name="path"/>.</summary>
    public static async Task<WalSegmentParse> ParseFileAsync(string path, CancellationToken cancellationToken)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (file.ConfigureAwait(false))
        {
            return await WalSegmentParser.ParseAsync(file, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Parses the segment <paramref name="segmentName"/> just archived (by wal-push or wal-receive) and stores its map.
    /// The segment is safely archived by then: a map that cannot be made or stored is one warning line, never a
    /// failure of the archiving (for wal-push PostgreSQL would keep the segment and retry, for a map whose absence
    /// only costs a later delta a page scan).
    /// </summary>
    public async Task StoreAfterArchiveAsync(string segmentName, Func<CancellationToken, Task<WalSegmentParse>> parse, Polly.ResiliencePipeline retry,
        ILogger logger, CancellationToken cancellationToken)
    {
        if (WalFileName.Classify(segmentName) != WalFileKind.Segment)
        {
            return;
        }

        try
        {
            var started = Stopwatch.GetTimestamp();
            var parsed = await parse(cancellationToken).ConfigureAwait(false);
            var parseMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (parsed.Map is not { } map)
            {
                Log.WalBlockMapSkipped(logger, segmentName, parsed.Reason!);
                return;
            }

            var key = await retry.ExecuteAsync(async ct => await PutAsync(segmentName, map, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            Log.WalBlockMapStored(logger, segmentName, map.Changes.BlockCount, map.Changes.Blocks.Count, map.Changes.Limits.Count, parseMs, key);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && ex is IOException or ObjectStoreException or PgArchiveException or UnauthorizedAccessException)
        {
            Log.WalBlockMapSkipped(logger, segmentName, ex.Message);
        }
    }

    /// <summary>Stores <paramref name="map"/> for <paramref name="segmentName"/>, replacing an earlier one; returns the key.</summary>
    public async Task<string> PutAsync(string segmentName, WalBlockMap map, CancellationToken cancellationToken)
    {
        var compressor = codec.Compressors.Default;
        var key = ArchiveLayout.WalBlockMapKey(segmentName, compressor.FileExtension);
        var bytes = map.ToBytes();
        await StreamingUpload.PutAsync(store, key, PutMode.Overwrite, async (sink, ct) =>
        {
            var encoder = codec.Encode(sink, compressor);
            await using (encoder.ConfigureAwait(false))
            {
                await encoder.WriteAsync(bytes, ct).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
        return key;
    }

    /// <summary>The map keys of timeline <paramref name="timeline"/>'s segments, by segment file name (one listing).</summary>
    public async Task<Dictionary<string, string>> ListAsync(uint timeline, CancellationToken cancellationToken)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var prefix = ArchiveLayout.WalBlockMapsPrefix + timeline.ToString("X8", System.Globalization.CultureInfo.InvariantCulture);
        await foreach (var info in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (SegmentOf(info.Key) is { } name)
            {
                keys.TryAdd(name, info.Key);
            }
        }

        return keys;
    }

    /// <summary>The segment a key under wal_blockmaps_005/ maps, or null when it is no map's key.</summary>
    public static string? SegmentOf(string key)
    {
        if (!key.StartsWith(ArchiveLayout.WalBlockMapsPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var name = key[ArchiveLayout.WalBlockMapsPrefix.Length..];
        return name.Length >= 24 + ArchiveLayout.WalBlockMapSuffix.Length && WalSegment.IsUpperHex(name.AsSpan(0, 24)) &&
               name.AsSpan(24).StartsWith(ArchiveLayout.WalBlockMapSuffix, StringComparison.Ordinal)
            ? name[..24]
            : null;
    }

    /// <summary>Reads and decodes the map under <paramref name="key"/>; <see cref="FormatException"/> when it is not a readable map.</summary>
    public async Task<WalBlockMap> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var stream = await codec.OpenDecodedAsync(store, key, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[1 << 16];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxMapBytes)
                {
                    throw new FormatException($"'{key}' decodes to more than {MaxMapBytes} bytes: not a block map.");
                }

                buffer.Write(chunk, 0, read);
            }

            return WalBlockMap.FromBytes(buffer.ToArray(), key);
        }
    }
}
