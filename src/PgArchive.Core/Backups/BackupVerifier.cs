using System.Formats.Tar;
using System.IO.Hashing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgArchive.Diagnostics;
using PgArchive.Storage;

namespace PgArchive.Backups;

/// <summary>
/// backup-verify: reads every tar partition of a backup through decryption and decompression to its end, and
/// checks every file in it against the XXH128 that backup-push recorded in files_metadata.json, and that every
/// recorded partition and file is there. Nothing is written.
/// </summary>
public sealed class BackupVerifier
{
    private readonly IObjectStore _store;
    private readonly ObjectCodec _codec;
    private readonly BackupCatalog _catalog;
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    public BackupVerifier(IObjectStore store, ObjectCodec codec, BackupCatalog catalog, ILogger<BackupVerifier>? logger = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _codec = codec ?? throw new ArgumentNullException(nameof(codec));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _logger = logger ?? NullLogger<BackupVerifier>.Instance;
    }

    /// <summary>Verifies the backup named <paramref name="nameOrLatest"/> (or LATEST).</summary>
    /// <exception cref="BackupNotFoundException">No such backup.</exception>
    public async Task<BackupVerifyResult> VerifyAsync(string nameOrLatest, CancellationToken cancellationToken = default)
    {
        var backup = await _catalog.ResolveAsync(nameOrLatest, cancellationToken).ConfigureAwait(false);
        var sentinel = await _catalog.ReadSentinelAsync(backup.Name, cancellationToken).ConfigureAwait(false);
        var files = sentinel.FilesMetadataDisabled
            ? null
            : await _catalog.ReadFilesMetadataAsync(backup.Name, cancellationToken).ConfigureAwait(false) ?? sentinel.LegacyFilesMetadata();
        var problems = new List<BackupProblem>();
        var result = new BackupVerifyResult { BackupName = backup.Name, Problems = problems };
        if ((await _catalog.ReadChainAsync(backup.Name, sentinel, cancellationToken).ConfigureAwait(false)).Problem is { } chainProblem)
        {
            problems.Add(new BackupProblem(null, null, chainProblem));
        }

        if (files is null)
        {
            if (!sentinel.FilesMetadataDisabled && sentinel.Version >= BackupSentinel.CurrentVersion)
            {
                problems.Add(new BackupProblem(null, null, "files_metadata.json is missing although the sentinel says it was written"));
            }

            result.Notes.Add("The backup has no files_metadata.json: its partitions are decoded but its files cannot be checked.");
        }

        var prefix = ArchiveLayout.TarPartitionsPrefix(backup.Name);
        var stored = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await foreach (var info in _store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            stored[info.Key[prefix.Length..]] = info.Key;
        }

        foreach (var missing in (files?.TarFileSets.Keys ?? Enumerable.Empty<string>()).Where(t => !stored.ContainsKey(t)).Order(StringComparer.Ordinal))
        {
            problems.Add(new BackupProblem(missing, files!.TarFileSets[missing].FirstOrDefault(), "the tar partition is missing from the store"));
        }

        foreach (var (tarName, key) in stored.OrderBy(t => TarOrder(t.Key)).ThenBy(t => t.Key, StringComparer.Ordinal))
        {
            await VerifyTarAsync(tarName, key, files, result, cancellationToken).ConfigureAwait(false);
            result.Partitions++;
        }

        if (!stored.Keys.Any(k => k.StartsWith("pg_control.tar", StringComparison.Ordinal)))
        {
            problems.Add(new BackupProblem(null, "/global/pg_control", "pg_control.tar is missing: the backup cannot be restored"));
        }

        Log.BackupVerified(_logger, backup.Name, result.Files, result.Partitions, problems.Count);
        return result;
    }

    private async Task VerifyTarAsync(string tarName, string key, FilesMetadata? files, BackupVerifyResult result, CancellationToken cancellationToken)
    {
        var expected = files?.TarFileSets.GetValueOrDefault(tarName)?.ToHashSet(StringComparer.Ordinal);
        if (files is not null && expected is null)
        {
            result.Problems.Add(new BackupProblem(tarName, null, "the tar partition is not recorded in files_metadata.json"));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        DecodedObject? decoded = null;
        try
        {
            decoded = await _codec.OpenVerifiedAsync(_store, key, files?.TarChecksums?.GetValueOrDefault(tarName), cancellationToken).ConfigureAwait(false);
            var reader = new TarReader(TarHeaderGuardStream.Wrap(decoded.Content, key), leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                var buffer = new byte[1 << 16];
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile))
                    {
                        continue;
                    }

                    current = "/" + entry.Name.TrimStart('.').TrimStart('/');
                    var hash = new XxHash128();
                    long length = 0;
                    if (entry.DataStream is { } data)
                    {
                        int read;
                        while ((read = await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            hash.Append(buffer.AsSpan(0, read));
                            length += read;
                        }
                    }

                    if (length != entry.Length)
                    {
                        throw new EndOfStreamException($"the entry ends after {length} of {entry.Length} bytes");
                    }

                    seen.Add(current);
                    result.Files++;
                    result.Bytes += length;
                    Check(tarName, current, Convert.ToHexStringLower(hash.GetCurrentHash()), files, expected, result);
                    current = null;
                }
            }

            // The tar's end-of-archive blocks are read; drain whatever follows so the codec checks its trailer and
            // the stored bytes are compared with the checksum recorded at backup-push.
            await decoded.ReadToEndAndVerifyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectCorruptException ex)
        {
            result.Problems.Add(new BackupProblem(tarName, current, ex.Message));
            return;
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or ObjectStoreException or OutOfMemoryException))
        {
            // whatever the decryptor, decompressor or tar reader makes of damaged bytes; the stored bytes, read on to
            // their end, tell damage in the store (the checksum recorded at backup-push) from a wrong key or codec
            result.Problems.Add(new BackupProblem(tarName, current, await StoredDamageAsync(decoded, cancellationToken).ConfigureAwait(false)
                ?? $"the partition cannot be read ({ex.Message})"));
            return;
        }
        finally
        {
            if (decoded is not null)
            {
                await decoded.DisposeAsync().ConfigureAwait(false);
            }
        }

        foreach (var missing in (expected ?? []).Where(p => !seen.Contains(p)).Order(StringComparer.Ordinal))
        {
            result.Problems.Add(new BackupProblem(tarName, missing, "recorded in files_metadata.json but not in the tar partition"));
        }
    }

    /// <summary>What is wrong with the stored bytes of <paramref name="decoded"/>, or null when they match what was recorded (or nothing was).</summary>
    private static async Task<string?> StoredDamageAsync(DecodedObject? decoded, CancellationToken cancellationToken)
    {
        if (decoded is not { HasRecordedChecksum: true })
        {
            return null;
        }

        try
        {
            await decoded.VerifyStoredBytesAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (ObjectCorruptException corrupt)
        {
            return corrupt.Message;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or ObjectStoreException)
        {
            return null; // the decoding error stands
        }
    }

    private static void Check(string tarName, string path, string actual, FilesMetadata? files, HashSet<string>? expected, BackupVerifyResult result)
    {
        if (files is null)
        {
            return;
        }

        if (expected?.Contains(path) != true)
        {
            result.Problems.Add(new BackupProblem(tarName, path, "in the tar partition but not recorded in files_metadata.json"));
            return;
        }

        if (files.Files.GetValueOrDefault(path)?.XxHash128 is not { } recorded)
        {
            result.FilesWithoutChecksum++;
            return;
        }

        result.FilesChecksummed++;
        if (!string.Equals(recorded, actual, StringComparison.OrdinalIgnoreCase))
        {
            result.Problems.Add(new BackupProblem(tarName, path, $"its content does not match the checksum recorded at backup-push (XXH128 {actual}, recorded {recorded})"));
        }
    }

    private static int TarOrder(string name) =>
        name.StartsWith("part_", StringComparison.Ordinal) ? 0 : name.StartsWith("pg_control.tar", StringComparison.Ordinal) ? 2 : 1;
}

/// <summary>The outcome of backup-verify.</summary>
public sealed class BackupVerifyResult
{
    /// <summary>The backup verified.</summary>
    public string BackupName { get; init; } = "";

    /// <summary>Tar partitions read to their end.</summary>
    public int Partitions { get; internal set; }

    /// <summary>Files read.</summary>
    public int Files { get; internal set; }

    /// <summary>Bytes of file content read.</summary>
    public long Bytes { get; internal set; }

    /// <summary>Files whose XXH128 was compared.</summary>
    public int FilesChecksummed { get; internal set; }

    /// <summary>Files with no recorded checksum (backups made by WAL-G or by an older PgArchive): decoded only.</summary>
    public int FilesWithoutChecksum { get; internal set; }

    /// <summary>Remarks on what could not be checked.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Everything wrong, in the order found; empty when the backup is intact.</summary>
    public List<BackupProblem> Problems { get; init; } = [];

    /// <summary>True when nothing is wrong.</summary>
    public bool IsValid => Problems.Count == 0;
}

/// <summary>One thing wrong with a backup.</summary>
/// <param name="TarPartition">The tar partition, when the problem is in one.</param>
/// <param name="File">The file (<c>/base/5/16384</c>), when the problem is with one.</param>
/// <param name="Description">What is wrong.</param>
public sealed record BackupProblem(string? TarPartition, string? File, string Description)
{
    /// <summary>One line: file, partition, what.</summary>
    public override string ToString() =>
        (File is null ? "" : File + " ") + (TarPartition is null ? "" : $"in {TarPartition}: ") + Description;
}
