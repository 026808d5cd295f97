using System.Diagnostics;
using System.Formats.Tar;
using System.Globalization;
using System.IO.Hashing;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PgArchive.Backups.Delta;
using PgArchive.Compression;
using PgArchive.Diagnostics;
using PgArchive.IO;
using PgArchive.Postgres;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Wal.Records;

namespace PgArchive.Backups;

/// <summary>
/// Takes an online base backup of a running cluster into the archive, in WAL-G's layout: tar partitions
/// of the data directory (and tablespaces), then <c>pg_control</c>, then the <c>backup_label</c> and
/// <c>tablespace_map</c> from <c>pg_backup_stop</c>, the metadata, and last the sentinel that makes the
/// backup visible.
/// </summary>
public sealed partial class BackupPusher
{
    private const string PgControlPath = "global/pg_control";
    private readonly IObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly PgArchiveOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    public BackupPusher(IObjectStore store, ObjectCodec codec, IOptions<PgArchiveOptions> options, TimeProvider? timeProvider = null, ILogger<BackupPusher>? logger = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _codec = codec ?? throw new ArgumentNullException(nameof(codec));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<BackupPusher>.Instance;
    }

    /// <summary>Backs up the cluster; the backup is listed only once this returns.</summary>
    public async Task<BackupPushResult> PushAsync(BackupPushRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await MeasureAsync(() => PushCoreAsync(request, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>A backup-push's duration metric and span, tagged with the backup's name.</summary>
    private static Task<BackupPushResult> MeasureAsync(Func<Task<BackupPushResult>> push) =>
        PgArchiveTelemetry.MeasureAsync("backup-push", PgArchiveTelemetry.BackupDuration, null, push,
            (result, activity) => activity?.SetTag("pgarchive.backup", result.BackupName));

    private async Task<BackupPushResult> PushCoreAsync(BackupPushRequest request, CancellationToken cancellationToken)
    {
        request.Validate();
        var dataDirectory = ValidateDataDirectory(request.DataDirectory);
        // The delta base is looked up in the store while the connection opens: both are round trips.
        var selectingBase = DeltaBase.SelectAsync(new BackupCatalog(_store), _options, request, cancellationToken, _logger);
        PostgresBackupSession session;
        try
        {
            session = await PostgresBackupSession.OpenAsync(_options.ConnectionString, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await ((Task)selectingBase).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        await using (session.ConfigureAwait(false))
        {
            var deltaBase = await selectingBase.ConfigureAwait(false);
            CheckSameDirectory(dataDirectory, session.Server.DataDirectory);
            await CheckWalSourceAsync(session.Server, cancellationToken).ConfigureAwait(false);
            deltaBase = Usable(deltaBase, request, b => b.CheckCluster(session.Server.SystemIdentifier, session.Server.BlockSize));
            var startTime = WalGTimeJsonConverter.CeilToMicroseconds(_time.GetUtcNow()); // WAL-G records whole microseconds
            var (start, name) = await StartAsync(session, dataDirectory, request, deltaBase, cancellationToken).ConfigureAwait(false);
            deltaBase = name.Contains("_D_", StringComparison.Ordinal) ? deltaBase : null;
            var (blockMap, blockSource) = deltaBase is null ? (null, "") : await DeltaBlockMapAsync(session, dataDirectory, deltaBase, start, name, cancellationToken).ConfigureAwait(false);
            var compressor = _codec.Compressors.Default;
            var verifyPages = request.VerifyPageChecksums ?? _options.VerifyPageChecksums;
            var claim = await BackupClaim.AcquireAsync(_store, new BackupProgress
            {
                BackupName = name,
                SystemIdentifier = session.Server.SystemIdentifier,
                Timeline = start.Timeline,
                StartLsn = start.Lsn.Value,
                StartTime = startTime,
                PgVersion = session.Server.VersionNum,
                DataDir = dataDirectory,
                CodecIdentity = CodecIdentity(compressor),
                PageChecksumsVerified = verifyPages && session.Server.DataChecksums,
            }, _time, _logger, cancellationToken).ConfigureAwait(false);
            await using var claimScope = claim.ConfigureAwait(false);
            Log.BackupStarted(_logger, name, start.Lsn.ToString(), start.Timeline);

            var files = new FilesMetadata();
            var entries = DataDirectoryScanner.Scan(dataDirectory).Where(e => e.TarPath != PgControlPath && !WalGTarNames.IsTablespaceLink(e)).ToList();
            var totals = new Totals
            {
                Progress = request.Progress, ExpectedBytes = entries.Sum(e => e.Size), Delta = deltaBase, BlockMap = blockMap,
                StoreAllCorruptBlocks = request.StoreAllCorruptBlocks ?? _options.StoreAllCorruptBlocks,
            };
            if (deltaBase is not null)
            {
                entries = DeltaFiles.LeaveOutUnchanged(entries, deltaBase, files, out totals.SkippedFiles);
            }

            if (verifyPages && !session.Server.DataChecksums)
            {
                Log.PageChecksumsUnavailable(_logger);
                verifyPages = false;
            }

            using var progress = new ProgressRecorder(this, claim.Record);
            var resumed = request.Resume ? await ResumeAsync(progress, deltaBase, entries, compressor, files, totals, cancellationToken).ConfigureAwait(false) : null;
            if (resumed is not null)
            {
                entries = resumed.Remaining;
            }

            totals.Pages = verifyPages
                ? new PageChecksumVerifier(start.Lsn.Value, session.Server.BlockSize, (uint)session.Server.BlocksPerSegment)
                : null;
            var workers = PartitionWorkers(_options.UploadConcurrency);
            var partitions = Partition(entries, BalancedThreshold(_options.TarSizeThreshold, totals.ExpectedBytes, workers));
            var firstNumber = 1 + (resumed?.Partitions ?? 0);
            using (var diskGate = new SemaphoreSlim(_options.UploadDiskConcurrency, _options.UploadDiskConcurrency))
            {
                var diskLimiter = _options.DiskRateLimit is { } diskRate ? new ByteRateLimiter(diskRate, _time) : null;
                totals.DiskGate = diskGate;
                totals.DiskLimiter = diskLimiter;
                var uploaded = await PartitionPipeline.RunAsync(partitions.Count, workers, async (i, ct) =>
                {
                    var tarName = string.Create(CultureInfo.InvariantCulture, $"part_{i + firstNumber:D3}.tar");
                    var partFiles = new FilesMetadata();
                    var partTotals = totals.ForPartition();
                    var partition = partitions[i];
                    claim.ThrowIfLost();
                    await RetryPartitionAsync(partTotals, c => UploadTarAsync(name, tarName, compressor, partition, partFiles, partTotals, c), ct).ConfigureAwait(false);
                    await progress.AddAsync([partTotals.Recorded(partFiles)], ct).ConfigureAwait(false);
                    return (partFiles, partTotals);
                }, cancellationToken).ConfigureAwait(false);

                // Merged in partition order, not completion order: files_metadata.json comes out the same either way.
                foreach (var (partFiles, partTotals) in uploaded)
                {
                    files.Merge(partFiles);
                    totals.Merge(partTotals);
                }

                totals.DiskGate = null;
                totals.DiskLimiter = null;
            }

            var pgControl = new DataDirectoryEntry(PgControlPath, Path.Combine(dataDirectory, "global", "pg_control"), false, 0);
            claim.ThrowIfLost();
            await RetryPartitionAsync(totals, ct => UploadTarAsync(name, "pg_control.tar", compressor, [pgControl], files, totals, ct), cancellationToken).ConfigureAwait(false);

            var stop = await session.StopAsync(cancellationToken).ConfigureAwait(false);
            if (session.Server.IsInRecovery)
            {
                // The last segment the backup needs holds the byte before the stop LSN, on the stop's timeline.
                var stopTimeline = await session.StopTimelineAsync(start, cancellationToken).ConfigureAwait(false);
                await WaitForArchivedSegmentAsync(WalSegment.Containing(new Lsn(Math.Max(stop.Lsn.Value, 1) - 1), stopTimeline, session.Server.WalSegmentSize).FileName,
                    cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await session.WaitForArchiveAsync(stop.Lsn, (segment, waited) => Log.WaitingForArchive(_logger, segment, (int)waited.TotalSeconds), cancellationToken)
                    .ConfigureAwait(false);
            }
            await RetryPartitionAsync(totals, ct => UploadLabelFilesAsync(name, compressor, stop, files, totals, ct), cancellationToken).ConfigureAwait(false);

            await StoreRecordsAsync(name, new BackupRecordsInput(start.Lsn, stop.Lsn, startTime, session.Server.VersionNum, session.Server.SystemIdentifier,
                TablespacesOf(dataDirectory), dataDirectory, request.Permanent, request.UserData, deltaBase, request.WithoutFilesMetadata), files, totals, claim, cancellationToken).ConfigureAwait(false);

            if (deltaBase is not null)
            {
                Log.DeltaBlocksRead(_logger, name, blockSource, totals.IncrementedFiles, totals.IncrementPages,
                    totals.IncrementBytesRead / PageIncrement.PageSize, totals.IncrementFileBytes / PageIncrement.PageSize);
            }

            Log.BackupFinished(_logger, name, stop.Lsn.ToString(), totals.TarBytes, totals.StoredBytes);
            if (_options.DirectReads)
            {
                Log.BackupReadDirectly(_logger, totals.ReadDirectly, totals.FileBytes);
            }
            if (resumed is not null)
            {
                Log.BackupResumed(_logger, name, resumed.Partitions, resumed.StoredBytes, resumed.From, partitions.Count, totals.StoredBytes - resumed.StoredBytes);
            }

            if (totals.CorruptFiles.Count > 0)
            {
                Log.CorruptPagesFound(_logger, name, totals.CorruptFiles.Sum(f => f.Blocks.Count), totals.CorruptFiles.Count);
            }

            return new BackupPushResult(name, start.Lsn, stop.Lsn, totals.Files, totals.TarBytes, totals.StoredBytes, partitions.Count + (resumed?.Partitions ?? 0))
            {
                ResumedFrom = resumed?.From,
                ReusedPartitions = resumed?.Partitions ?? 0,
                ReusedBytes = resumed?.StoredBytes ?? 0,
                PageChecksumsVerified = verifyPages,
                PagesVerified = totals.PagesVerified,
                CorruptFiles = [.. totals.CorruptFiles.OrderBy(f => f.Path, StringComparer.Ordinal)],
                DeltaFrom = deltaBase?.Name,
                IncrementedFiles = totals.IncrementedFiles,
                SkippedFiles = totals.SkippedFiles,
            };
        }
    }

    /// <summary>What the sentinel and metadata.json of a backup record besides its totals.</summary>
    private sealed record BackupRecordsInput(Lsn Start, Lsn Stop, DateTimeOffset StartTime, int PgVersion, ulong SystemIdentifier, TablespaceSpec? Spec,
        string DataDirectory, bool Permanent, JsonElement? UserData, DeltaBase? DeltaBase, bool WithoutFilesMetadata);

    /// <summary>Stores files_metadata.json, metadata.json and last the sentinel that makes the backup visible, then releases the claim.</summary>
    private async Task StoreRecordsAsync(string name, BackupRecordsInput input, FilesMetadata files, Totals totals, BackupClaim claim, CancellationToken cancellationToken)
    {
        var finishTime = WalGTimeJsonConverter.CeilToMicroseconds(_time.GetUtcNow());
        var sentinel = new BackupSentinel
        {
            Version = BackupSentinel.CurrentVersion,
            Lsn = input.Start.Value,
            FinishLsn = input.Stop.Value,
            PgVersion = input.PgVersion,
            SystemIdentifier = input.SystemIdentifier,
            UncompressedSize = totals.TarBytes,
            CompressedSize = totals.StoredBytes,
            DataCatalogSize = totals.FileBytes,
            Spec = input.Spec,
            UserData = input.UserData,
            StartTime = input.StartTime,
            FinishTime = finishTime,
            Hostname = Environment.MachineName,
            DataDir = input.DataDirectory,
            IsPermanent = input.Permanent,
            DeltaLsn = input.DeltaBase?.Lsn,
            DeltaFrom = input.DeltaBase?.Name,
            DeltaFullName = input.DeltaBase?.FullName,
            DeltaCount = input.DeltaBase?.Count,
            FilesMetadataDisabled = input.WithoutFilesMetadata,
        };
        var metadata = new BackupMetadata
        {
            StartTime = input.StartTime,
            FinishTime = finishTime,
            Hostname = sentinel.Hostname,
            DataDir = input.DataDirectory,
            PgVersion = sentinel.PgVersion,
            StartLsn = sentinel.Lsn,
            FinishLsn = sentinel.FinishLsn,
            IsPermanent = input.Permanent,
            SystemIdentifier = sentinel.SystemIdentifier,
            UncompressedSize = sentinel.UncompressedSize,
            CompressedSize = sentinel.CompressedSize,
            UserData = input.UserData,
        };

        await claim.ConfirmAsync(files.TarChecksums!, cancellationToken).ConfigureAwait(false);
        if (input.Permanent && input.DeltaBase is not null)
        {
            // As WAL-G (markBackups): a permanent delta makes the backups it is built on permanent, before it is visible.
            await new BackupCatalog(_store).MarkAsync(input.DeltaBase.Name, permanent: true, cancellationToken).ConfigureAwait(false);
        }

        if (input.WithoutFilesMetadata)
        {
            Log.FilesMetadataLeftOut(_logger, name);
        }
        else
        {
            await PutJsonAsync(ArchiveLayout.FilesMetadataKey(name), files, PgArchiveJsonContext.Default.FilesMetadata, cancellationToken).ConfigureAwait(false);
        }

        await PutJsonAsync(ArchiveLayout.MetadataKey(name), metadata, PgArchiveJsonContext.Default.BackupMetadata, cancellationToken).ConfigureAwait(false);
        // Last: the sentinel makes the backup visible.
        await PutSentinelAsync(name, sentinel, cancellationToken).ConfigureAwait(false);
        await claim.ReleaseAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<(BackupStart Start, string Name)> StartAsync(PostgresBackupSession session, string dataDirectory, BackupPushRequest request,
        DeltaBase? deltaBase, CancellationToken cancellationToken)
    {
        var label = "pgarchive " + _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var start = await session.StartAsync(label, cancellationToken).ConfigureAwait(false);
        var name = BackupName.ForFull(WalSegment.Containing(start.Lsn, start.Timeline, session.Server.WalSegmentSize).FileName);
        deltaBase = Usable(deltaBase, request, b => b.CheckHistory(dataDirectory, start.Timeline, start.Lsn));
        if (deltaBase is not null)
        {
            name = BackupName.ForDelta(name, deltaBase.StartWalFile);
        }

        await ThrowIfBackupExistsAsync(name, session.Server.IsInRecovery, cancellationToken).ConfigureAwait(false);
        return (start, name);
    }

    /// <summary>
    /// The blocks changed since <paramref name="deltaBase"/>'s start as PostgreSQL's WAL summaries name them, or null
    /// (the delta scans pages) when switched off or the server cannot tell; either way one line says which.
    /// </summary>
    private async Task<(ChangedBlockMap? Map, string Source)> DeltaBlockMapAsync(PostgresBackupSession session, string dataDirectory, DeltaBase deltaBase,
        BackupStart start, string name, CancellationToken cancellationToken)
    {
        const string Scan = "page scan";
        if (_options.DeltaBlockSource == DeltaBlockSource.Scan)
        {
            Log.DeltaScansPages(_logger, name, "PGARCHIVE_DELTA_BLOCK_SOURCE is scan");
            return (null, Scan);
        }

        var (map, unavailable) = await WalSummaryBlockSource.BuildAsync(session.Connection, session.Server.VersionNum, new Lsn(deltaBase.Lsn), deltaBase.Timeline,
            start.Lsn, start.Timeline, WalSummaryBlockSource.DefaultWait, _time, cancellationToken).ConfigureAwait(false);
        if (map is not null)
        {
            Log.DeltaUsesWalSummaries(_logger, name, new Lsn(deltaBase.Lsn).ToString(), map.BlockCount, map.ForkCount, map.PayloadBytes);
            return (map, "WAL summaries");
        }

        if (!_options.UseWalDelta)
        {
            Log.DeltaScansPages(_logger, name, unavailable + "; WALG_USE_WAL_DELTA is off, so there are no WAL block maps either");
            return (null, Scan);
        }

        // Below 17, or summaries off: the block maps wal-push stored (the range's last segments, not archived yet, are parsed from pg_wal).
        var (fromMaps, mapsUnavailable) = await WalBlockMapSource.ReadAsync(new WalBlockMapReader(_store, _codec), deltaBase.Timeline, start.Timeline,
            new Lsn(deltaBase.Lsn), start.Lsn, session.Server.WalSegmentSize, Path.Combine(dataDirectory, "pg_wal"), cancellationToken).ConfigureAwait(false);
        if (fromMaps is null)
        {
            Log.DeltaScansPages(_logger, name, $"{unavailable}; WAL block maps: {mapsUnavailable}");
            return (null, Scan);
        }

        Log.DeltaUsesWalBlockMaps(_logger, name, new Lsn(deltaBase.Lsn).ToString(), fromMaps.BlockCount, fromMaps.ForkCount);
        return (fromMaps, "WAL block maps");
    }

    /// <summary>Refuses a name whose sentinel is already stored: two backups started in the same WAL segment.</summary>
    private async Task ThrowIfBackupExistsAsync(string name, bool onStandby, CancellationToken cancellationToken)
    {
        if (await _store.GetInfoAsync(ArchiveLayout.SentinelKey(name), cancellationToken).ConfigureAwait(false) is not null)
        {
            throw new PgArchiveException(
                $"A backup named {name} already exists: the previous backup started in the same WAL segment. " +
                (onStandby
                    ? "On a standby a backup starts at its last restartpoint, which follows the primary's checkpoints: run CHECKPOINT on the primary and retry."
                    : "Write some data or run SELECT pg_switch_wal() and retry."));
        }
    }

    /// <summary>The base when <paramref name="check"/> accepts it; null (a full backup) when it refuses and the request allows falling back.</summary>
    private DeltaBase? Usable(DeltaBase? deltaBase, BackupPushRequest request, Action<DeltaBase> check)
    {
        if (deltaBase is null)
        {
            return null;
        }

        try
        {
            check(deltaBase);
            return deltaBase;
        }
        catch (PgArchiveException ex) when (request.FallBackToFull)
        {
            Log.DeltaFallBackToFull(_logger, ex.Message);
            return null;
        }
    }

    private async Task UploadTarAsync(string backupName, string tarName, ICompressor compressor, IReadOnlyList<DataDirectoryEntry> entries,
        FilesMetadata files, Totals totals, CancellationToken cancellationToken)
    {
        var paths = new List<string>(entries.Count);
        totals.BeginRead(_time.GetUtcNow());
        // Files a delta stores as increments are read only in part, and O_DIRECT reads bypass the page cache: neither is hinted.
        var readAhead = totals.DiskLimiter is null
            ? new PartitionReadAhead(entries, e => !(totals.Delta is { } delta && DeltaFiles.WasInBase(delta, e)) && !(_options.DirectReads && e.Size >= DirectReadStream.ChunkSize))
            : null;
        var (key, tarBytes, stored) = await PutTarAsync(backupName, tarName, compressor, files, paths, async (writer, ct) =>
        {
            for (var index = 0; index < entries.Count; index++)
            {
                var entry = entries[index];
                readAhead?.Before(index);
                // Taken before the read: a change made while the file is read must not look like "unchanged since" to the next delta.
                var modified = entry.IsDirectory ? default : ModifiedBeforeRead(entry.FullPath);
                // A relation file the base had is stored as an increment: of the blocks the map names, or of those a page scan finds;
                // whole when the map says so (created, recreated or truncated since the base; a free space map).
                var selection = totals.Delta is { } delta && DeltaFiles.WasInBase(delta, entry) ? totals.BlockMap?.Select(entry.TarPath, entry.Size) : null;
                var incremented = totals.Delta is { } theBase && DeltaFiles.WasInBase(theBase, entry) && selection is not { IsWhole: true }
                    ? await IncrementTarEntry.WriteAsync(writer, entry, theBase.Lsn, selection?.Blocks, totals.DiskLimiter, ct).ConfigureAwait(false)
                    : null;
                var written = incremented?.Written ?? await TarEntries.WriteAsync(writer, entry, totals.Pages, ct, totals.DiskGate, totals.DiskLimiter, _options.DirectReads).ConfigureAwait(false);
                if (written is null)
                {
                    Log.FileVanished(_logger, entry.TarPath);
                    continue;
                }

                if (entry.IsDirectory)
                {
                    totals.RecordedDirectories.Add(entry.TarPath);
                }
                else
                {
                    paths.Add("/" + entry.TarPath);
                    PgArchiveTelemetry.BytesRead.Add(entry.Size);
                    var description = new BackupFileDescription
                    {
                        IsIncremented = incremented is not null,
                        MTime = modified,
                        XxHash128 = written.XxHash128,
                        CorruptBlocks = CorruptBlocksInfo.From(written.CorruptBlocks, totals.StoreAllCorruptBlocks),
                    };
                    files.Files["/" + entry.TarPath] = description;
                    totals.RecordedFiles.Add(new BackupProgressFile { Path = "/" + entry.TarPath, Size = written.Size, Description = description });
                    totals.FileBytes += entry.Size;
                    totals.IncrementedFiles += incremented is null ? 0 : 1;
                    if (incremented is not null)
                    {
                        totals.IncrementPages += incremented.Pages;
                        totals.IncrementBytesRead += incremented.BytesRead;
                        totals.IncrementFileBytes += entry.Size;
                    }
                    totals.Files++;
                    totals.PagesVerified += written.PagesVerified;
                    totals.ReadDirectly += written.ReadDirectly;
                    if (written.CorruptBlocks.Count > 0)
                    {
                        Log.CorruptPages(_logger, entry.TarPath, string.Join(", ", written.CorruptBlocks), written.CorruptBlocks.Count);
                        totals.CorruptFiles.Add(new CorruptFile(entry.TarPath, written.CorruptBlocks));
                    }

                    totals.Progress?.Report(new TransferProgress(totals.Shared.AddBytes(entry.Size), totals.ExpectedBytes, entry.TarPath));
                }
            }
        }, cancellationToken).ConfigureAwait(false);

        totals.Add(tarBytes, stored);
        totals.PartitionTarBytes = tarBytes;
        Log.PartitionUploaded(_logger, key, paths.Count, tarBytes, stored);
    }

    private static DateTime ModifiedBeforeRead(string path)
    {
        try
        {
            return File.GetLastWriteTimeUtc(path);
        }
        catch (IOException)
        {
            return default;
        }
    }

    private async Task UploadLabelFilesAsync(string backupName, ICompressor compressor, BackupStop stop, FilesMetadata files, Totals totals,
        CancellationToken cancellationToken)
    {
        var paths = new List<string> { "/backup_label" };
        var (_, tarBytes, stored) = await PutTarAsync(backupName, "backup_label.tar", compressor, files, paths, async (writer, ct) =>
        {
            var now = _time.GetUtcNow().UtcDateTime;
            var labelHash = await TarEntries.WriteTextAsync(writer, WalGTarNames.BackupLabel, stop.LabelFile, now, ct).ConfigureAwait(false);
            files.Files["/backup_label"] = new BackupFileDescription { MTime = now, XxHash128 = labelHash };
            if (stop.TablespaceMapFile.Length > 0)
            {
                var mapHash = await TarEntries.WriteTextAsync(writer, WalGTarNames.TablespaceMap, stop.TablespaceMapFile, now, ct).ConfigureAwait(false);
                files.Files["/tablespace_map"] = new BackupFileDescription { MTime = now, XxHash128 = mapHash };
                paths.Add("/tablespace_map");
            }
        }, cancellationToken).ConfigureAwait(false);

        totals.Add(tarBytes, stored);
    }

    /// <summary>
    /// Stores one tar partition: tar → compress → encrypt → store, streaming. Records the paths it holds and the
    /// size and XXH128 of its stored bytes in <paramref name="files"/>.
    /// </summary>
    private async Task<(string Key, long TarBytes, long StoredBytes)> PutTarAsync(string backupName, string tarName, ICompressor compressor,
        FilesMetadata files, List<string> paths, Func<TarWriter, CancellationToken, Task> writeEntries, CancellationToken cancellationToken)
    {
        var objectName = CompressorRegistry.WithExtension(tarName, compressor);
        var key = ArchiveLayout.TarPartitionsPrefix(backupName) + objectName;
        var storedHash = new XxHash128();
        long tarBytes = 0, storedBytes = 0;
        await StreamingUpload.PutAsync(_store, key, PutMode.Overwrite, async (sink, ct) =>
        {
            var hashed = PassThroughStream.Wrap(sink, leaveOpen: true, storedHash);
            await using (hashed.ConfigureAwait(false))
            {
                var encoder = _codec.Encode(hashed, compressor);
                await using (encoder.ConfigureAwait(false))
                {
                    var counter = PassThroughStream.Wrap(encoder, leaveOpen: true);
                    await using (counter.ConfigureAwait(false))
                    {
                        var writer = new TarWriter(counter, TarEntryFormat.Gnu, leaveOpen: true);
                        await using (writer.ConfigureAwait(false))
                        {
                            await writeEntries(writer, ct).ConfigureAwait(false);
                        }

                        tarBytes = counter.BytesTransferred;
                    }
                }

                storedBytes = hashed.BytesTransferred;
            }
        }, cancellationToken).ConfigureAwait(false);

        files.TarFileSets[objectName] = paths;
        files.TarChecksums ??= new(StringComparer.Ordinal);
        files.TarChecksums[objectName] = new StoredChecksum(storedBytes, Convert.ToHexStringLower(storedHash.GetCurrentHash()));
        return (key, tarBytes, storedBytes);
    }

    private Task PutJsonAsync<T>(string key, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        return _store.PutAsync(key, new MemoryStream(bytes), PutMode.Overwrite, cancellationToken);
    }

    /// <summary>Stores the sentinel create-only: a sentinel already there is accepted only if it is this one (a put whose acknowledgement was lost).</summary>
    private async Task PutSentinelAsync(string name, BackupSentinel sentinel, CancellationToken cancellationToken)
    {
        var key = ArchiveLayout.SentinelKey(name);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(sentinel, PgArchiveJsonContext.Default.BackupSentinel);
        try
        {
            await _store.PutAsync(key, new MemoryStream(bytes), PutMode.CreateNew, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.AlreadyExists)
        {
            var stored = new MemoryStream();
            var read = await _store.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
            await using (read.ConfigureAwait(false))
            {
                await read.CopyToAsync(stored, cancellationToken).ConfigureAwait(false);
            }

            if (!stored.ToArray().AsSpan().SequenceEqual(bytes))
            {
                throw new PgArchiveException(
                    $"Another process stored {key} while this backup-push wrote backup {name}; this run's backup was not made visible. Run backup-push again.", ex);
            }
        }
    }

    /// <summary>
    /// Partitions in flight: at most <paramref name="uploadConcurrency"/>, and no more than there are processors,
    /// since each one tars and compresses; more would only add buffers.
    /// </summary>
    internal static int PartitionWorkers(int uploadConcurrency) => Math.Max(1, Math.Min(uploadConcurrency, Environment.ProcessorCount));

    /// <summary>
    /// The size partitions are cut at. With one worker it is the configured threshold; with more, partitions are
    /// made smaller (about four per worker, never under 64 MiB nor over the threshold) so that the workers share
    /// the data directory evenly instead of one compressing a 1 GiB partition while the others idle.
    /// The result depends only on the settings and the directory's sizes, so partitioning stays deterministic.
    /// </summary>
    internal static long BalancedThreshold(long threshold, long totalBytes, int workers)
    {
        if (workers <= 1)
        {
            return threshold;
        }

        const long minimum = 64L << 20;
        var share = totalBytes / (workers * 4L) + 1;
        return Math.Min(threshold, Math.Max(minimum, share));
    }

    private static List<IReadOnlyList<DataDirectoryEntry>> Partition(List<DataDirectoryEntry> entries, long threshold)
    {
        var partitions = new List<IReadOnlyList<DataDirectoryEntry>>();
        var current = new List<DataDirectoryEntry>();
        long size = 0;
        foreach (var entry in entries)
        {
            if (current.Count > 0 && size + entry.Size > threshold)
            {
                partitions.Add(current);
                current = [];
                size = 0;
            }

            current.Add(entry);
            size += entry.Size + 512;
        }

        if (current.Count > 0)
        {
            partitions.Add(current);
        }

        return partitions;
    }

    private static TablespaceSpec? TablespacesOf(string dataDirectory)
    {
        var tablespaces = DataDirectoryScanner.Tablespaces(dataDirectory);
        if (tablespaces.Count == 0)
        {
            return null;
        }

        var spec = new TablespaceSpec { BasePrefix = dataDirectory };
        foreach (var (oid, target) in tablespaces)
        {
            spec.Tablespaces[oid] = new TablespaceLocation(Path.TrimEndingDirectorySeparator(target), "pg_tblspc/" + oid);
        }

        return spec;
    }

    private static string ValidateDataDirectory(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory));
        if (!Directory.Exists(full))
        {
            throw new PgArchiveException($"Data directory '{full}' does not exist.");
        }

        if (!File.Exists(Path.Combine(full, "PG_VERSION")) || !File.Exists(Path.Combine(full, "global", "pg_control")))
        {
            throw new PgArchiveException($"'{full}' is not a PostgreSQL data directory (no PG_VERSION or global/pg_control).");
        }

        return full;
    }

    private static void CheckSameDirectory(string given, string server)
    {
        static string Resolve(string path)
        {
            var info = new DirectoryInfo(path);
            return Path.TrimEndingDirectorySeparator(info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName);
        }

        if (!string.Equals(Resolve(given), Resolve(server), StringComparison.Ordinal))
        {
            throw new PgArchiveException(
                $"The server the connection reaches runs data directory '{server}', not '{given}': point PGHOST/PGPORT at the cluster you back up.");
        }
    }

    private sealed partial class Totals
    {
        public long TarBytes;
        public long StoredBytes;
        public long FileBytes;
        public long ReadDirectly;
        public int Files;
        public long PagesVerified;
        public PageChecksumVerifier? Pages;
        public readonly List<CorruptFile> CorruptFiles = [];
        public long ExpectedBytes;
        public DeltaBase? Delta;
        public ChangedBlockMap? BlockMap;
        public int IncrementedFiles;
        public long IncrementPages;
        public long IncrementBytesRead;
        public long IncrementFileBytes;
        public int SkippedFiles;
        public IProgress<TransferProgress>? Progress;
        public SemaphoreSlim? DiskGate;
        public ByteRateLimiter? DiskLimiter;
        public SharedProgress Shared = new();
        public bool StoreAllCorruptBlocks;

        // What one partition's last attempt read, for the progress record.
        public DateTimeOffset ReadStartedAt;
        public long PartitionTarBytes;
        public readonly List<BackupProgressFile> RecordedFiles = [];
        public readonly List<string> RecordedDirectories = [];

        /// <summary>Starts an attempt at a partition: what an earlier attempt recorded is dropped.</summary>
        public void BeginRead(DateTimeOffset now)
        {
            ReadStartedAt = now;
            PartitionTarBytes = 0;
            RecordedFiles.Clear();
            RecordedDirectories.Clear();
        }

        /// <summary>The progress record of the partition this counted, stored as <paramref name="partFiles"/> describes.</summary>
        public BackupProgressPartition Recorded(FilesMetadata partFiles)
        {
            var (objectName, stored) = partFiles.TarChecksums!.Single();
            return new BackupProgressPartition
            {
                ObjectName = objectName,
                Stored = stored,
                TarBytes = PartitionTarBytes,
                ReadStartedAt = ReadStartedAt,
                PagesVerified = PagesVerified,
                Directories = [.. RecordedDirectories],
                Files = [.. RecordedFiles],
            };
        }

        /// <summary>Counters of one partition; what is shared (progress, page verifier, disk gate) stays shared.</summary>
        public Totals ForPartition() => new()
        {
            ExpectedBytes = ExpectedBytes, Progress = Progress, Pages = Pages, DiskGate = DiskGate, DiskLimiter = DiskLimiter, Shared = Shared, Delta = Delta,
            BlockMap = BlockMap,
            StoreAllCorruptBlocks = StoreAllCorruptBlocks,
        };

        public void Merge(Totals partition)
        {
            TarBytes += partition.TarBytes;
            StoredBytes += partition.StoredBytes;
            FileBytes += partition.FileBytes;
            ReadDirectly += partition.ReadDirectly;
            Files += partition.Files;
            PagesVerified += partition.PagesVerified;
            IncrementedFiles += partition.IncrementedFiles;
            IncrementPages += partition.IncrementPages;
            IncrementBytesRead += partition.IncrementBytesRead;
            IncrementFileBytes += partition.IncrementFileBytes;
            SkippedFiles += partition.SkippedFiles;
            CorruptFiles.AddRange(partition.CorruptFiles);
        }

        public void Add(long tarBytes, long storedBytes)
        {
            TarBytes += tarBytes;
            StoredBytes += storedBytes;
            PgArchiveTelemetry.BytesUncompressed.Add(tarBytes);
            PgArchiveTelemetry.BytesUploaded.Add(storedBytes);
        }
    }

    private sealed class SharedProgress
    {
        private long _bytes;

        public long AddBytes(long bytes) => Interlocked.Add(ref _bytes, bytes);
    }
}
