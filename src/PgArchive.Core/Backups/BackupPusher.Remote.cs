using System.Formats.Tar;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PgArchive.Backups.Delta;
using PgArchive.Diagnostics;
using PgArchive.IO;
using PgArchive.Postgres;
using PgArchive.PostgresTypes;
using PgArchive.Storage;
using PgArchive.Streaming;
using PgArchive.Streaming.Protocol;

namespace PgArchive.Backups;

// backup-push --remote: the server's BASE_BACKUP archives (its own tar streams, one per tablespace) are read as they
// arrive, member by member, and re-packed into WAL-G's layout: part_NNN.tar partitions cut at the tar size threshold,
// members named /<path> (tablespaces under /pg_tblspc/<oid>/), each file's XXH128 in files_metadata.json, pg_control
// last in pg_control.tar, backup_label and tablespace_map (sent inside the base archive) in backup_label.tar, the
// tablespaces in the sentinel's Spec. The server's backup manifest is stored beside them (backup_manifest) and every
// file it lists must have arrived with its size. Nothing is spooled to disk; memory holds one upload buffer.
public sealed partial class BackupPusher
{
    /// <summary>
    /// Backs up a server reached only by a replication connection (PostgreSQL 15 or later), through BASE_BACKUP; the
    /// backup restores with <see cref="BackupFetcher"/> like any other. The WAL from its start to its end must reach the
    /// archive too: BASE_BACKUP waits for the server's archive_command as pg_backup_stop does, or run <c>wal-receive</c>.
    /// </summary>
    public async Task<BackupPushResult> PushRemoteAsync(RemoteBackupRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await MeasureAsync(() => PushRemoteCoreAsync(request, cancellationToken)).ConfigureAwait(false);
    }

    private async Task<BackupPushResult> PushRemoteCoreAsync(RemoteBackupRequest request, CancellationToken cancellationToken)
    {
        if (request.MaxRateKilobytesPerSecond is { } rate && rate is < 32 or > 1048576)
        {
            throw new PgArchiveConfigurationException($"The maximum transfer rate must be 32 to 1048576 kB/s (BASE_BACKUP's MAX_RATE), not {rate}.");
        }

        var settings = PgConnectionSettings.From(request.ConnectionString ?? _options.ConnectionString, "pgarchive backup-push");
        var client = await ReplicationClient.OpenAsync(settings, cancellationToken).ConfigureAwait(false);
        await using (client.ConfigureAwait(false))
        {
            var connection = client.Connection;
            if (client.ServerVersionNum < 150000)
            {
                throw new PgArchiveException(
                    $"backup-push --remote needs PostgreSQL 15 or later (BASE_BACKUP's COPY stream with typed messages); {connection.Endpoint} runs {connection.ServerVersion}. Back it up locally (backup-push PGDATA).");
            }

            connection.Notice = (severity, message) => Log.ServerNotice(_logger, severity, message);
            var identity = await client.IdentifySystemAsync(cancellationToken).ConfigureAwait(false);
            var segmentSize = await client.WalSegmentSizeAsync(cancellationToken).ConfigureAwait(false);
            var dataDirectory = await ShowOrEmptyAsync(client, "data_directory", cancellationToken).ConfigureAwait(false);
            var onStandby = await ShowOrEmptyAsync(client, "in_hot_standby", cancellationToken).ConfigureAwait(false) == "on";
            var (deltaBase, priorManifest) = await SelectRemoteBaseAsync(client, identity.SystemIdentifier, request, cancellationToken).ConfigureAwait(false);
            var startTime = WalGTimeJsonConverter.CeilToMicroseconds(_time.GetUtcNow());
            var label = "pgarchive " + _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
            var backup = await BaseBackupStream.StartAsync(connection, label, request.MaxRateKilobytesPerSecond, priorManifest, cancellationToken).ConfigureAwait(false);
            var name = BackupName.ForFull(WalSegment.Containing(backup.StartLsn, backup.Timeline, segmentSize).FileName);
            if (deltaBase is not null)
            {
                name = BackupName.ForDelta(name, deltaBase.StartWalFile);
            }

            await ThrowIfBackupExistsAsync(name, onStandby, cancellationToken).ConfigureAwait(false);
            var compressor = _codec.Compressors.Default;
            var claim = await BackupClaim.AcquireAsync(_store, new BackupProgress
            {
                BackupName = name,
                SystemIdentifier = identity.SystemIdentifier,
                Timeline = backup.Timeline,
                StartLsn = backup.StartLsn.Value,
                StartTime = startTime,
                PgVersion = client.ServerVersionNum,
                DataDir = dataDirectory,
                CodecIdentity = CodecIdentity(compressor),
            }, _time, _logger, cancellationToken).ConfigureAwait(false);
            await using var claimScope = claim.ConfigureAwait(false);
            Log.BackupStarted(_logger, name, backup.StartLsn.ToString(), backup.Timeline);

            var files = new FilesMetadata();
            var totals = new Totals { Progress = request.Progress };
            var received = new RemoteFiles();
            var members = ReadMembersAsync(backup, name, received, cancellationToken).GetAsyncEnumerator(cancellationToken);
            await using (members.ConfigureAwait(false))
            {
                var more = await members.MoveNextAsync().ConfigureAwait(false);
                for (var part = 1; more; part++)
                {
                    claim.ThrowIfLost();
                    var tarName = string.Create(CultureInfo.InvariantCulture, $"part_{part:D3}.tar");
                    var paths = new List<string>();
                    var (key, tarBytes, stored) = await PutTarAsync(name, tarName, compressor, files, paths, async (writer, ct) =>
                    {
                        long size = 0;
                        while (more && (size == 0 || size < _options.TarSizeThreshold))
                        {
                            size += await WriteRemoteMemberAsync(writer, members.Current, files, paths, totals, ct).ConfigureAwait(false);
                            more = await members.MoveNextAsync().ConfigureAwait(false);
                        }
                    }, cancellationToken).ConfigureAwait(false);
                    totals.Add(tarBytes, stored);
                    Log.PartitionUploaded(_logger, key, paths.Count, tarBytes, stored);
                }
            }

            var stop = await backup.FinishAsync(cancellationToken).ConfigureAwait(false);
            var manifest = backup.Manifest ?? throw connection.Protocol("BASE_BACKUP sent no backup manifest");
            received.CheckAgainstManifest(manifest, name);
            if (received.PgControl is not { } pgControl || received.BackupLabel is not { } backupLabel)
            {
                throw new PgArchiveException($"The server's base archive lacked global/pg_control or backup_label; backup {name} was not made visible.");
            }

            claim.ThrowIfLost();
            var (_, controlTar, controlStored) = await PutTarAsync(name, "pg_control.tar", compressor, files, ["/global/pg_control"], async (writer, ct) =>
            {
                files.Files["/global/pg_control"] = new BackupFileDescription { MTime = pgControl.Modified, XxHash128 = Hash(pgControl.Content) };
                await writer.WriteEntryAsync(new GnuTarEntry(TarEntryType.RegularFile, "/global/pg_control")
                {
                    DataStream = new MemoryStream(pgControl.Content), Mode = pgControl.Mode, ModificationTime = pgControl.Modified,
                }, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            totals.Add(controlTar, controlStored);
            totals.FileBytes += pgControl.Content.Length;
            totals.Files++;
            await UploadLabelFilesAsync(name, compressor, new BackupStop(stop, PostgresIncrementalFile.PlainBackupLabel(Encoding.UTF8.GetString(backupLabel)),
                received.TablespaceMap is { } map ? Encoding.UTF8.GetString(map) : ""), files, totals, cancellationToken).ConfigureAwait(false);
            await PutManifestAsync(name, manifest, compressor, cancellationToken).ConfigureAwait(false);

            await StoreRecordsAsync(name, new BackupRecordsInput(backup.StartLsn, stop, startTime, client.ServerVersionNum, identity.SystemIdentifier,
                TablespacesOf(dataDirectory, backup.Tablespaces), dataDirectory, request.Permanent, request.UserData, deltaBase, false), files, totals, claim, cancellationToken)
                .ConfigureAwait(false);
            Log.BackupFinished(_logger, name, stop.ToString(), totals.TarBytes, totals.StoredBytes);
            return new BackupPushResult(name, backup.StartLsn, stop, totals.Files, totals.TarBytes, totals.StoredBytes, files.TarFileSets.Count - 2);
        }
    }

    /// <summary>
    /// The base of an incremental backup and its stored backup manifest, chosen by WAL-G's delta rules
    /// (<see cref="DeltaBase.SelectAsync"/>); (null, null) for a full backup. A base without a stored manifest (a local
    /// backup) gives a full backup, logged; an incremental one on a server before 17 or without summarize_wal is refused.
    /// </summary>
    private async Task<(DeltaBase? Base, byte[]? Manifest)> SelectRemoteBaseAsync(ReplicationClient client, ulong systemIdentifier, RemoteBackupRequest request,
        CancellationToken cancellationToken)
    {
        var deltaBase = await DeltaBase.SelectAsync(new BackupCatalog(_store), _options, new BackupPushRequest
        {
            DataDirectory = "", Permanent = request.Permanent, Full = request.Full, DeltaFromName = request.DeltaFromName, DeltaFromUserData = request.DeltaFromUserData,
        }, cancellationToken, _logger).ConfigureAwait(false);
        if (deltaBase is null)
        {
            return (null, null);
        }

        var manifestKey = await _store.ListAsync(ArchiveLayout.BackupPrefix(deltaBase.Name) + ArchiveLayout.BackupManifestObjectName, cancellationToken)
            .Select(o => o.Key).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (manifestKey is null)
        {
            Log.DeltaNotTaken(_logger, $"{deltaBase.Name} has no stored backup_manifest (it was not taken with backup-push --remote), which an incremental BASE_BACKUP needs");
            return (null, null);
        }

        var connection = client.Connection;
        if (client.ServerVersionNum < 170000)
        {
            throw new PgArchiveException(
                $"An incremental backup-push --remote (on {deltaBase.Name}) needs PostgreSQL 17 or later; {connection.Endpoint} runs {connection.ServerVersion}. Take a full backup: --full, or WALG_DELTA_MAX_STEPS=0.");
        }

        var summarize = await ShowOrEmptyAsync(client, "summarize_wal", cancellationToken).ConfigureAwait(false);
        if (summarize != "on")
        {
            throw new PgArchiveException(
                $"An incremental backup-push --remote (on {deltaBase.Name}) needs summarize_wal = on on {connection.Endpoint} (it is '{summarize}'): set it (ALTER SYSTEM SET summarize_wal = on; SELECT pg_reload_conf()) and take a full backup (--full) for later ones to build on.");
        }

        deltaBase.CheckCluster(systemIdentifier, (int)(ReplicationClient.ParseSize(await client.ShowAsync("block_size", cancellationToken).ConfigureAwait(false)) ?? 0));
        var stored = await _codec.OpenDecodedAsync(_store, manifestKey, cancellationToken).ConfigureAwait(false);
        await using (stored.ConfigureAwait(false))
        {
            var manifest = new MemoryStream();
            await stored.CopyToAsync(manifest, cancellationToken).ConfigureAwait(false);
            return (deltaBase, manifest.ToArray());
        }
    }

    private static async Task<string> ShowOrEmptyAsync(ReplicationClient client, string setting, CancellationToken cancellationToken)
    {
        try
        {
            return await client.ShowAsync(setting, cancellationToken).ConfigureAwait(false);
        }
        catch (PgServerException ex) when (!ex.IsFatal)
        {
            return ""; // a role without pg_read_all_settings may not read it
        }
    }

    /// <summary>Every member of every archive, with its name in WAL-G's form; keeps aside pg_control, backup_label and tablespace_map.</summary>
    private async IAsyncEnumerable<(TarEntry Entry, string Member)> ReadMembersAsync(BaseBackupStream backup, string backupName, RemoteFiles received,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await backup.NextArchiveAsync(cancellationToken).ConfigureAwait(false) is { } archive)
        {
            var prefix = archive.Location.Length == 0 ? "/" : "/pg_tblspc/" + TablespaceOid(archive.Name) + "/";
            Log.RemoteArchiveStarted(_logger, backupName, archive.Name, archive.Location.Length == 0 ? "data directory" : archive.Location);
            var reader = new TarReader(archive.Content, leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    var member = prefix + entry.Name.TrimStart('.', '/').TrimEnd('/');
                    if (member.Length <= 1 || await received.KeepAsideAsync(member, entry, cancellationToken).ConfigureAwait(false))
                    {
                        continue;
                    }

                    yield return (entry, member);
                }
            }

            // Whatever follows the tar's end-of-archive blocks belongs to this archive too.
            await archive.Content.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes one member into the partition; returns the bytes it adds.</summary>
    private async Task<long> WriteRemoteMemberAsync(TarWriter writer, (TarEntry Entry, string Member) item, FilesMetadata files, List<string> paths, Totals totals,
        CancellationToken cancellationToken)
    {
        var (entry, member) = item;
        var mode = entry.Mode | UnixFileMode.UserRead | UnixFileMode.UserWrite;
        if (entry.EntryType == TarEntryType.Directory)
        {
            await writer.WriteEntryAsync(new GnuTarEntry(TarEntryType.Directory, member) { Mode = mode | UnixFileMode.UserExecute, ModificationTime = entry.ModificationTime },
                cancellationToken).ConfigureAwait(false);
            return 512;
        }

        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
        {
            Log.RemoteEntrySkipped(_logger, member, entry.EntryType.ToString());
            return 0;
        }

        // Not disposed: the entry's data stream belongs to the tar reader, which skips past it to the next member.
        Stream data = new FixedLengthReadStream(entry.DataStream ?? Stream.Null, entry.Length);
        var incremented = PostgresIncrementalFile.PlainPath(member);
        if (incremented is not null)
        {
            (data, _) = await PostgresIncrementalFile.ToIncrementAsync(entry.DataStream ?? Stream.Null, entry.Length, member, cancellationToken).ConfigureAwait(false);
            member = incremented;
        }

        var content = new InspectingReadStream(data, null);
        await writer.WriteEntryAsync(new GnuTarEntry(TarEntryType.RegularFile, member)
        {
            DataStream = content, Mode = mode, ModificationTime = entry.ModificationTime,
        }, cancellationToken).ConfigureAwait(false);
        files.Files[member] = new BackupFileDescription { MTime = entry.ModificationTime, XxHash128 = content.HashHex, IsIncremented = incremented is not null };

        paths.Add(member);
        totals.Files++;
        totals.FileBytes += entry.Length;
        PgArchiveTelemetry.BytesRead.Add(entry.Length);
        totals.Progress?.Report(new TransferProgress(totals.Shared.AddBytes(entry.Length), null, member));
        return entry.Length + 512;
    }

    private async Task PutManifestAsync(string name, byte[] manifest, Compression.ICompressor compressor, CancellationToken cancellationToken)
    {
        var key = ArchiveLayout.BackupPrefix(name) + Compression.CompressorRegistry.WithExtension(ArchiveLayout.BackupManifestObjectName, compressor);
        await StreamingUpload.PutAsync(_store, key, PutMode.Overwrite, async (sink, ct) =>
        {
            var encoder = _codec.Encode(sink, compressor);
            await using (encoder.ConfigureAwait(false))
            {
                await encoder.WriteAsync(manifest, ct).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private static string TablespaceOid(string archiveName) =>
        archiveName.EndsWith(".tar", StringComparison.Ordinal) && uint.TryParse(archiveName.AsSpan(0, archiveName.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out var oid)
            ? oid.ToString(CultureInfo.InvariantCulture)
            : throw new PgArchiveException($"The server sent a tablespace archive named '{archiveName}', not '<oid>.tar'.");

    private static TablespaceSpec? TablespacesOf(string dataDirectory, IReadOnlyList<BaseBackupTablespace> tablespaces)
    {
        var user = tablespaces.Where(t => t.Oid is not null && t.Location is not null).ToList();
        if (user.Count == 0)
        {
            return null;
        }

        var spec = new TablespaceSpec { BasePrefix = dataDirectory };
        foreach (var tablespace in user)
        {
            spec.Tablespaces[tablespace.Oid!] = new TablespaceLocation(Path.TrimEndingDirectorySeparator(tablespace.Location!), "pg_tblspc/" + tablespace.Oid);
        }

        return spec;
    }

    private static string Hash(byte[] content) => Convert.ToHexStringLower(System.IO.Hashing.XxHash128.Hash(content));

    /// <summary>A small file kept aside from the partitions: its bytes, mode and time.</summary>
    private sealed record KeptFile(byte[] Content, UnixFileMode Mode, DateTime Modified);

    /// <summary>What arrived: each file's size (to hold against the manifest) and the files written after the partitions.</summary>
    private sealed class RemoteFiles
    {
        private readonly Dictionary<string, long> _sizes = new(StringComparer.Ordinal);

        public KeptFile? PgControl { get; private set; }

        public byte[]? BackupLabel { get; private set; }

        public byte[]? TablespaceMap { get; private set; }

        /// <summary>Records the member; true when it is pg_control, backup_label or tablespace_map, read here and kept aside.</summary>
        public async Task<bool> KeepAsideAsync(string member, TarEntry entry, CancellationToken cancellationToken)
        {
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            {
                _sizes[member[1..]] = entry.Length;
            }

            if (member is not ("/global/pg_control" or "/backup_label" or "/tablespace_map"))
            {
                return false;
            }

            var content = new MemoryStream();
            if (entry.DataStream is { } data)
            {
                await data.CopyToAsync(content, cancellationToken).ConfigureAwait(false);
            }

            switch (member)
            {
                case "/global/pg_control":
                    PgControl = new KeptFile(content.ToArray(), entry.Mode | UnixFileMode.UserRead | UnixFileMode.UserWrite, entry.ModificationTime.UtcDateTime);
                    break;
                case "/backup_label":
                    BackupLabel = content.ToArray();
                    break;
                default:
                    TablespaceMap = content.ToArray();
                    break;
            }

            return true;
        }

        /// <summary>Every file the server's manifest lists must have arrived, with the size it lists.</summary>
        public void CheckAgainstManifest(byte[] manifest, string backupName)
        {
            using var document = JsonDocument.Parse(manifest);
            foreach (var file in document.RootElement.GetProperty("Files").EnumerateArray())
            {
                var path = file.TryGetProperty("Path", out var plain) ? plain.GetString()! : Encoding.UTF8.GetString(Convert.FromHexString(file.GetProperty("Encoded-Path").GetString()!));
                var size = file.GetProperty("Size").GetInt64();
                if (!_sizes.TryGetValue(path, out var got) || got != size)
                {
                    throw new PgArchiveException(string.Create(CultureInfo.InvariantCulture,
                        $"The server's backup manifest lists {path} ({size} bytes), which its archives {(got is 0 && !_sizes.ContainsKey(path) ? "did not hold" : $"held with {got} bytes")}; backup {backupName} was not made visible."));
                }
            }
        }
    }
}
