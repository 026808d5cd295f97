using System.Text.Json.Serialization;

namespace PgArchive.Backups;

/// <summary>
/// Source-generated JSON for everything PgArchive stores and prints: trimming- and AOT-safe. Every time goes through
/// <see cref="WalGTimeJsonConverter"/> (WAL-G's form).
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never, Converters = [typeof(WalGTimeJsonConverter)])]
[JsonSerializable(typeof(BackupSentinel))]
[JsonSerializable(typeof(BackupMetadata))]
[JsonSerializable(typeof(FilesMetadata))]
[JsonSerializable(typeof(BackupProgress))]
[JsonSerializable(typeof(BackupProgressPartition))]
[JsonSerializable(typeof(List<BackupListEntry>))]
[JsonSerializable(typeof(List<BackupDetailEntry>))]
[JsonSerializable(typeof(List<PgArchive.Wal.TimelineInfo>))]
[JsonSerializable(typeof(PgArchive.Wal.WalVerifyReport))]
public sealed partial class PgArchiveJsonContext : JsonSerializerContext;
