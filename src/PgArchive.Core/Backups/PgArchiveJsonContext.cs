using System.Text.Json.Serialization;

namespace PgArchive.Backups;

/// <summary>
/// Source-generated JSON for everything PgArchive stores and prints (the reports of wal-show and wal-verify have
/// <c>VerificationJsonContext</c>, with the same options): trimming- and AOT-safe. Every time goes through
/// <see cref="WalGTimeJsonConverter"/> (WAL-G's form). A JSON null where a property is not nullable, or a missing
/// constructor parameter, is refused naming the property, rather than read as a null that fails later.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never, RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true, Converters = [typeof(WalGTimeJsonConverter)])]
[JsonSerializable(typeof(BackupSentinel))]
[JsonSerializable(typeof(WalE.WalESentinel))]
[JsonSerializable(typeof(BackupMetadata))]
[JsonSerializable(typeof(FilesMetadata))]
[JsonSerializable(typeof(BackupProgress))]
[JsonSerializable(typeof(BackupProgressPartition))]
[JsonSerializable(typeof(List<BackupListEntry>))]
[JsonSerializable(typeof(List<BackupDetailEntry>))]
internal sealed partial class PgArchiveJsonContext : JsonSerializerContext;
