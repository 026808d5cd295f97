using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Diagnostics;
using PgArchive.IO;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal.Records;

namespace PgArchive.Wal;

/// <summary>
/// Archives WAL files (<c>archive_command</c>) and fetches them back (<c>restore_command</c>) under
/// <c>wal_005/</c>, as WAL-G does.
/// </summary>
public sealed class WalArchiver
{
    private const int CompareBufferSize = 1 << 16;
    private readonly IObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly ILogger _logger;
    private readonly Polly.ResiliencePipeline _retry;
    private readonly bool _mapBlocks;

    /// <summary>Creates the archiver. <paramref name="options"/> sets how a WAL file's upload is retried after a transient failure.</summary>
    public WalArchiver(IObjectStore store, ObjectCodec codec, Microsoft.Extensions.Options.IOptions<PgArchiveOptions>? options = null,
        TimeProvider? timeProvider = null, ILogger<WalArchiver>? logger = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _codec = codec ?? throw new ArgumentNullException(nameof(codec));
        _logger = logger ?? NullLogger<WalArchiver>.Instance;
        // The upload streams the file through the codec and cannot be rewound: a transient failure re-runs it.
        _retry = StoreRetry.Build(options?.Value ?? new PgArchiveOptions(), timeProvider ?? TimeProvider.System, _logger, _store);
        _mapBlocks = options?.Value.UseWalDelta ?? false;
    }

    /// <summary>
    /// Stores the WAL file at <paramref name="walFilePath"/>. Returns only once the object is durably stored.
    /// An object already stored under the name is never overwritten: identical content is success (PostgreSQL
    /// re-runs archive_command after a crash), different content is a <see cref="WalArchiveConflictException"/>.
    /// </summary>
    public async Task<WalPushResult> PushAsync(string walFilePath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(walFilePath);
        return await PgArchiveTelemetry.MeasureAsync("wal-push", PgArchiveTelemetry.WalPushDuration,
            new("pgarchive.wal_file", Path.GetFileName(walFilePath)),
            () => PushCoreAsync(walFilePath, cancellationToken),
            (result, _) => PgArchiveTelemetry.BytesUploaded.Add(result.StoredBytes)).ConfigureAwait(false);
    }

    private async Task<WalPushResult> PushCoreAsync(string walFilePath, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(walFilePath);
        WalFileName.Validate(name);
        if (!File.Exists(walFilePath))
        {
            throw new PgArchiveException($"WAL file '{walFilePath}' does not exist.");
        }

        var compressor = _codec.Compressors.Default;
        var key = ArchiveLayout.WalKey(name, compressor.FileExtension);
        try
        {
            var stored = await _retry.ExecuteAsync(async attempt => await StreamingUpload.PutAsync(_store, key, PutMode.CreateNew, async (sink, ct) =>
            {
                var source = OpenLocal(walFilePath);
                await using (source.ConfigureAwait(false))
                {
                    var encoder = _codec.Encode(sink, compressor);
                    await using (encoder.ConfigureAwait(false))
                    {
                        await source.CopyToAsync(encoder, 1 << 20, ct).ConfigureAwait(false);
                    }

                    PgArchiveTelemetry.BytesRead.Add(source.Length);
                    PgArchiveTelemetry.BytesUncompressed.Add(source.Length);
                }
            }, attempt).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            Log.WalPushed(_logger, name, key, stored);
            await StoreBlockMapAsync(walFilePath, name, cancellationToken).ConfigureAwait(false);
            return new WalPushResult(name, key, AlreadyArchived: false, stored);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
        {
            if (!await StoredContentEqualsAsync(key, walFilePath, cancellationToken).ConfigureAwait(false))
            {
                throw new WalArchiveConflictException(name, key);
            }

            Log.WalAlreadyArchived(_logger, name);
            await StoreBlockMapAsync(walFilePath, name, cancellationToken).ConfigureAwait(false);
            return new WalPushResult(name, key, AlreadyArchived: true, 0);
        }
    }

    /// <summary>With <see cref="PgArchiveOptions.UseWalDelta"/>, parses the segment just archived and stores its block map (see <see cref="WalBlockMapStore.StoreAfterArchiveAsync"/>).</summary>
    private Task StoreBlockMapAsync(string walFilePath, string name, CancellationToken cancellationToken) =>
        _mapBlocks
            ? new WalBlockMapStore(_store, _codec).StoreAfterArchiveAsync(name, ct => WalBlockMapStore.ParseFileAsync(walFilePath, ct), _retry, _logger, cancellationToken)
            : Task.CompletedTask;

    /// <summary>
    /// Writes the archived WAL file <paramref name="walFileName"/> to <paramref name="destinationPath"/>
    /// atomically (temporary file, fsync, rename), whatever compression extension it was stored with. One listing
    /// finds it (see <see cref="WalLocator"/>), so a file not archived yet costs one store call.
    /// </summary>
    /// <exception cref="WalFileNotFoundException">The archive does not hold the file.</exception>
    public async Task<string> FetchAsync(string walFileName, string destinationPath, CancellationToken cancellationToken = default)
    {
        return await PgArchiveTelemetry.MeasureAsync("wal-fetch", PgArchiveTelemetry.WalFetchDuration,
            new("pgarchive.wal_file", walFileName),
            async () =>
            {
                WalFileName.Validate(walFileName);
                // A segment's .partial (wal-receive's segment in progress) shares its prefix: the same listing finds it.
                var partialName = WalFileName.Classify(walFileName) == WalFileKind.Segment ? walFileName + ".partial" : null;
                var located = await LocateAsync(partialName is null ? [walFileName] : [walFileName, partialName], cancellationToken).ConfigureAwait(false);
                return await FetchCoreAsync(walFileName, located.GetValueOrDefault(walFileName), partialName is null ? null : located.GetValueOrDefault(partialName),
                    destinationPath, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    /// <summary>
    /// As <see cref="FetchAsync"/> for a file whose key <see cref="LocateAsync"/> found (null: not in the archive),
    /// without listing again, and never from a <c>.partial</c>: what is fetched ahead must be the complete segment.
    /// </summary>
    internal async Task<string> FetchLocatedAsync(string walFileName, string? key, string destinationPath, CancellationToken cancellationToken)
    {
        return await PgArchiveTelemetry.MeasureAsync("wal-fetch", PgArchiveTelemetry.WalFetchDuration,
            new("pgarchive.wal_file", walFileName),
            () => FetchCoreAsync(walFileName, key, null, destinationPath, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>The key each of <paramref name="walFileNames"/> is archived under, for those the archive holds (see <see cref="WalLocator"/>).</summary>
    internal Task<Dictionary<string, string>> LocateAsync(IReadOnlyList<string> walFileNames, CancellationToken cancellationToken) =>
        WalLocator.LocateAsync(_store, _codec.Compressors, walFileNames, cancellationToken);

    private async Task<string> FetchCoreAsync(string walFileName, string? key, string? partialKey, string destinationPath, CancellationToken cancellationToken)
    {
        WalFileName.Validate(walFileName);
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        var directory = Path.GetDirectoryName(Path.GetFullPath(destinationPath))!;
        if (!Directory.Exists(directory))
        {
            throw new PgArchiveException($"Cannot write '{destinationPath}': directory '{directory}' does not exist.");
        }

        if (key is not null && await TryFetchAsync(walFileName, key, walFileName, destinationPath, cancellationToken).ConfigureAwait(false) is { } fetched)
        {
            return fetched;
        }

        // A segment wal-receive has not completed yet: its .partial stands in for it when no later timeline branched off
        // before its end (PartialSegmentFallback). When the .partial is gone before it is read (wal-receive completed the
        // segment and removed it), the complete segment once more.
        if (partialKey is not null)
        {
            if (!await PartialSegmentFallback.AllowedAsync(_store, _codec, walFileName, partialKey, cancellationToken).ConfigureAwait(false))
            {
                Log.PartialNotUsed(_logger, partialKey, walFileName);
            }
            else if (await TryFetchAsync(walFileName + ".partial", partialKey, walFileName, destinationPath, cancellationToken).ConfigureAwait(false) is { } partial)
            {
                return partial;
            }
            else if ((await LocateAsync([walFileName], cancellationToken).ConfigureAwait(false)).GetValueOrDefault(walFileName) is { } completed &&
                     await TryFetchAsync(walFileName, completed, walFileName, destinationPath, cancellationToken).ConfigureAwait(false) is { } later)
            {
                return later;
            }
        }

        Log.WalNotFound(_logger, walFileName);
        throw new WalFileNotFoundException(walFileName);
    }

    /// <summary>Fetches the object under <paramref name="key"/> (stored as <paramref name="storedName"/>) as <paramref name="walFileName"/>; null when it is gone.</summary>
    private async Task<string?> TryFetchAsync(string storedName, string key, string walFileName, string destinationPath, CancellationToken cancellationToken)
    {
        Stream stored;
        try
        {
            stored = await _store.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
        {
            return null; // deleted since it was listed (retention, or a .partial replaced by its segment)
        }

        // Decoded, then checked to be the segment it is named after (a swapped or cut object never reaches PostgreSQL).
        var decoded = WalSegmentCheckStream.WrapIfSegment(_codec.Decode(stored, _codec.CompressorFor(key)), storedName, key);
        await using (decoded.ConfigureAwait(false))
        {
            await AtomicFile.WriteAsync(destinationPath, decoded, key, cancellationToken).ConfigureAwait(false);
        }

        PgArchiveTelemetry.BytesRestored.Add(new FileInfo(destinationPath).Length);
        Log.WalFetched(_logger, walFileName, key);
        return key;
    }

    private async Task<bool> StoredContentEqualsAsync(string key, string walFilePath, CancellationToken cancellationToken)
    {
        Stream stored;
        try
        {
            stored = await _codec.OpenDecodedAsync(_store, key, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotAuthenticatedException ex) when (ex.Failure == AuthenticationFailure.SidecarMissing && _store is AuthenticatingObjectStore authenticating)
        {
            // An earlier wal-push stored the object and died before its authentication record (or pushed without
            // authentication): record it now, but only once its content is found to be this very file.
            var compressor = _codec.CompressorFor(key);
            var adopted = await authenticating.AdoptAsync(key,
                (raw, ct) => DecodedEqualsAsync(_codec.Decode(raw, compressor), key, walFilePath, ct), cancellationToken).ConfigureAwait(false);
            if (adopted)
            {
                Log.WalAuthenticationRecorded(_logger, key);
            }

            return adopted;
        }

        return await DecodedEqualsAsync(stored, key, walFilePath, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> DecodedEqualsAsync(Stream stored, string key, string walFilePath, CancellationToken cancellationToken)
    {
        await using (stored.ConfigureAwait(false))
        {
            var local = OpenLocal(walFilePath);
            await using (local.ConfigureAwait(false))
            {
                try
                {
                    return await StreamComparer.EqualAsync(stored, local, CompareBufferSize, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
                {
                    throw new PgArchiveException(
                        $"'{key}' is already archived but cannot be compared with '{walFilePath}': it is corrupt or was not written with this configuration's encryption: {ex.Message}", ex);
                }
            }
        }
    }

    private static FileStream OpenLocal(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
}

/// <summary>The outcome of <see cref="WalArchiver.PushAsync"/>.</summary>
/// <param name="WalFileName">The file's name.</param>
/// <param name="Key">The object it is stored under.</param>
/// <param name="AlreadyArchived">True when an identical object was already stored and nothing was written.</param>
/// <param name="StoredBytes">Bytes written to the store.</param>
public sealed record WalPushResult(string WalFileName, string Key, bool AlreadyArchived, long StoredBytes);
