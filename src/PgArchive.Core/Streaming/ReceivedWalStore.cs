using Microsoft.Extensions.Logging;
using PgArchive.Diagnostics;
using PgArchive.IO;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal;
using PgArchive.Wal.Records;

namespace PgArchive.Streaming;

/// <summary>
/// Stores what <see cref="WalReceiver"/> received, in WAL-G's layout: a complete segment once, create-only, under its
/// own name (an identical object already there is success, as for wal-push; a different one is a conflict); the
/// segment in progress as <c>&lt;segment&gt;.partial</c>, replaced as it grows, zero-padded to the segment size as
/// pg_receivewal's <c>.partial</c> files are, and deleted once the complete segment is stored; history files
/// create-only. Every upload re-runs from the buffer when it fails transiently.
/// </summary>
internal sealed class ReceivedWalStore
{
    private static readonly byte[] Zeros = new byte[1 << 16];
    private readonly IObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly ILogger _logger;
    private readonly Polly.ResiliencePipeline _retry;
    private readonly bool _mapBlocks;

    /// <summary>Stores into <paramref name="store"/> through <paramref name="codec"/>, retrying with <paramref name="retry"/>; with <paramref name="mapBlocks"/>
    /// (<see cref="PgArchiveOptions.UseWalDelta"/>) each complete segment's block map too, as wal-push does. Logs to <paramref name="logger"/>.</summary>
    public ReceivedWalStore(IObjectStore store, ObjectCodec codec, ILogger logger, Polly.ResiliencePipeline retry, bool mapBlocks = false)
    {
        _store = store;
        _codec = codec;
        _logger = logger;
        _retry = retry;
        _mapBlocks = mapBlocks;
    }

    /// <summary>The key the segment's partial object gets with the configured compression.</summary>
    public string PartialKey(WalSegment segment) => ArchiveLayout.WalKey(segment.FileName + ".partial", _codec.Compressors.Default.FileExtension);

    /// <summary>Stores a complete segment create-only, then its block map when asked to, and removes its partial objects.</summary>
    public async Task StoreSegmentAsync(WalSegment segment, byte[] data, CancellationToken cancellationToken)
    {
        var name = segment.FileName;
        var key = ArchiveLayout.WalKey(name, _codec.Compressors.Default.FileExtension);
        try
        {
            var stored = await PutAsync(key, data, (int)segment.SegmentSize, segment.SegmentSize, PutMode.CreateNew, cancellationToken).ConfigureAwait(false);
            PgArchiveTelemetry.BytesUploaded.Add(stored);
            Log.ReceivedSegmentStored(_logger, name, key, stored);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
        {
            if (!await StoredEqualsAsync(key, data, (int)segment.SegmentSize, cancellationToken).ConfigureAwait(false))
            {
                throw new WalArchiveConflictException(name, key);
            }

            Log.WalAlreadyArchived(_logger, name);
        }

        if (_mapBlocks)
        {
            await new WalBlockMapStore(_store, _codec).StoreAfterArchiveAsync(name,
                ct => WalSegmentParser.ParseAsync(new MemoryStream(data, 0, (int)segment.SegmentSize, writable: false), null, ct), _retry, _logger,
                cancellationToken).ConfigureAwait(false);
        }

        await _store.DeleteAsync(_codec.Compressors.ProbeOrder.Select(c => ArchiveLayout.WalKey(name + ".partial", c.FileExtension)), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Stores the first <paramref name="length"/> bytes of the segment in progress, zero-padded, as its <c>.partial</c> object.</summary>
    public async Task StorePartialAsync(WalSegment segment, byte[] data, int length, CancellationToken cancellationToken)
    {
        var stored = await PutAsync(PartialKey(segment), data, length, segment.SegmentSize, PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
        PgArchiveTelemetry.BytesUploaded.Add(stored);
    }

    /// <summary>The content of the segment's stored <c>.partial</c> object (any compression), or null when there is none.</summary>
    public async Task<byte[]?> ReadPartialAsync(WalSegment segment, CancellationToken cancellationToken)
    {
        foreach (var compressor in _codec.Compressors.ProbeOrder)
        {
            var key = ArchiveLayout.WalKey(segment.FileName + ".partial", compressor.FileExtension);
            if (await _store.GetInfoAsync(key, cancellationToken).ConfigureAwait(false) is null)
            {
                continue;
            }

            var decoded = await _codec.OpenDecodedAsync(_store, key, cancellationToken).ConfigureAwait(false);
            await using (decoded.ConfigureAwait(false))
            {
                var content = new byte[segment.SegmentSize];
                var read = await decoded.ReadAtLeastAsync(content, content.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                return read == content.Length ? content : throw new ObjectCorruptException(key, $"it holds {read} bytes, not a {content.Length}-byte segment");
            }
        }

        return null;
    }

    /// <summary>Stores a timeline history file create-only; identical content already there is success.</summary>
    public async Task StoreHistoryAsync(string fileName, string content, CancellationToken cancellationToken)
    {
        WalFileName.Validate(fileName);
        var bytes = System.Text.Encoding.UTF8.GetBytes(content);
        var key = ArchiveLayout.WalKey(fileName, _codec.Compressors.Default.FileExtension);
        try
        {
            await PutAsync(key, bytes, bytes.Length, bytes.Length, PutMode.CreateNew, cancellationToken).ConfigureAwait(false);
            Log.ReceivedHistoryStored(_logger, fileName, key);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
        {
            if (!await StoredEqualsAsync(key, bytes, bytes.Length, cancellationToken).ConfigureAwait(false))
            {
                throw new WalArchiveConflictException(fileName, key);
            }
        }
    }

    private async Task<long> PutAsync(string key, byte[] data, int length, long paddedLength, PutMode mode, CancellationToken cancellationToken)
    {
        var compressor = _codec.Compressors.Default;
        return await _retry.ExecuteAsync(async attempt => await StreamingUpload.PutAsync(_store, key, mode, async (sink, ct) =>
        {
            var encoder = _codec.Encode(sink, compressor);
            await using (encoder.ConfigureAwait(false))
            {
                await encoder.WriteAsync(data.AsMemory(0, length), ct).ConfigureAwait(false);
                for (var left = paddedLength - length; left > 0; left -= Zeros.Length)
                {
                    await encoder.WriteAsync(Zeros.AsMemory(0, (int)Math.Min(left, Zeros.Length)), ct).ConfigureAwait(false);
                }
            }

            PgArchiveTelemetry.BytesUncompressed.Add(paddedLength);
        }, attempt).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> StoredEqualsAsync(string key, byte[] data, int length, CancellationToken cancellationToken)
    {
        var stored = await _codec.OpenDecodedAsync(_store, key, cancellationToken).ConfigureAwait(false);
        await using (stored.ConfigureAwait(false))
        {
            try
            {
                return await StreamComparer.EqualAsync(stored, new MemoryStream(data, 0, length, writable: false), 1 << 16, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw new PgArchiveException($"'{key}' is already archived but cannot be compared with the WAL received: it is corrupt or was not written with this configuration's encryption: {ex.Message}", ex);
            }
        }
    }
}
