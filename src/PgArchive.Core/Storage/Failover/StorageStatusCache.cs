using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PgArchive.Diagnostics;

namespace PgArchive.Storage;

/// <summary>
/// The statuses of the failover stores, kept in memory and shared between processes through a JSON file, as WAL-G's
/// status cache: one entry per store keyed <c>name#identity</c> (so entries of stores configured elsewhere are kept),
/// the newest entry of a key winning when memory and file are merged. A file that cannot be read or written is
/// logged and the cache goes on in memory: a status cache never fails an archive operation.
/// </summary>
internal sealed class StorageStatusCache
{
    private readonly FailoverStoresOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, StorageStatus> _memory = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly Lock _fileGate = new();
    private DateTimeOffset _flushed;

    public StorageStatusCache(FailoverStoresOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _flushed = time.GetUtcNow();
        Merge(ReadFile());
    }

    public StorageStatus Get(string key)
    {
        lock (_gate)
        {
            return _memory.GetValueOrDefault(key, StorageStatus.Unknown);
        }
    }

    /// <summary>Whether the cached status of <paramref name="key"/> is recent enough to be trusted without a check.</summary>
    public bool IsRelevant(string key) => _time.GetUtcNow() - Get(key).Updated <= _options.CacheLifetime;

    /// <summary>
    /// Applies <paramref name="update"/> to the status of <paramref name="key"/>. The file is written when
    /// <paramref name="share"/> says the change matters to other processes (a check's result, a store turning dead or
    /// alive, missed objects), else at most every <see cref="RoutineFlushInterval"/> and by <see cref="Flush"/>.
    /// </summary>
    public (StorageStatus Before, StorageStatus After) Update(string key, Func<StorageStatus, StorageStatus> update, Func<StorageStatus, StorageStatus, bool> share)
    {
        StorageStatus before, after;
        lock (_gate)
        {
            before = _memory.GetValueOrDefault(key, StorageStatus.Unknown);
            after = update(before);
            _memory[key] = after;
        }

        if (share(before, after) || _time.GetUtcNow() - _flushed > RoutineFlushInterval)
        {
            Flush();
        }

        return (before, after);
    }

    /// <summary>How often routine operation results reach the file at most.</summary>
    public static readonly TimeSpan RoutineFlushInterval = TimeSpan.FromSeconds(5);

    /// <summary>Writes the statuses to the file, merged with what other processes wrote there since.</summary>
    public void Flush()
    {
        if (_options.CacheFile is not { } path)
        {
            return;
        }

        lock (_fileGate)
        {
            FlushLocked(path);
        }
    }

    private void FlushLocked(string path)
    {
        Dictionary<string, StorageStatus> snapshot;
        lock (_gate)
        {
            // Merged with the file first: another process's newer entries survive this write.
            MergeLocked(ReadFile());
            snapshot = new Dictionary<string, StorageStatus>(_memory, StringComparer.Ordinal);
        }

        _flushed = _time.GetUtcNow();
        try
        {
            var temporary = path + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                foreach (var (key, status) in snapshot)
                {
                    writer.WriteStartObject(key);
                    writer.WriteNumber("potential_aliveness", status.PotentialAliveness);
                    writer.WriteNumber("actual_aliveness", status.ActualAliveness);
                    writer.WriteBoolean("previous_aliveness", status.WasAlive);
                    writer.WriteString("updated", status.Updated);
                    writer.WriteBoolean("pgarchive_missed_objects", status.MissedObjects);
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.StatusCacheUnusable(_logger, path, ex.Message);
        }
    }

    private Dictionary<string, StorageStatus> ReadFile()
    {
        var result = new Dictionary<string, StorageStatus>(StringComparer.Ordinal);
        if (_options.CacheFile is not { } path || !File.Exists(path))
        {
            return result;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                var value = entry.Value;
                result[entry.Name] = new StorageStatus(
                    value.GetProperty("potential_aliveness").GetDouble(),
                    value.GetProperty("actual_aliveness").GetDouble(),
                    value.GetProperty("previous_aliveness").GetBoolean(),
                    value.GetProperty("updated").GetDateTimeOffset(),
                    value.TryGetProperty("pgarchive_missed_objects", out var missed) && missed.GetBoolean());
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            Log.StatusCacheUnusable(_logger, path, ex.Message);
        }

        return result;
    }

    private void Merge(Dictionary<string, StorageStatus> other)
    {
        lock (_gate)
        {
            MergeLocked(other);
        }
    }

    private void MergeLocked(Dictionary<string, StorageStatus> other)
    {
        foreach (var (key, status) in other)
        {
            if (!_memory.TryGetValue(key, out var mine) || status.Updated > mine.Updated)
            {
                _memory[key] = status;
            }
        }
    }
}
