using System.Text.Json.Serialization;
using PgArchive.Backups;

namespace PgArchive.Verification;

/// <summary>
/// Source-generated JSON of wal-show and wal-verify (trimming- and AOT-safe), with the options of
/// <see cref="PgArchiveJsonContext"/>: the backups a timeline lists print as backup-list --detail prints them.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never, RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true, Converters = [typeof(WalGTimeJsonConverter)])]
[JsonSerializable(typeof(List<TimelineInfo>))]
[JsonSerializable(typeof(WalVerifyReport))]
internal sealed partial class VerificationJsonContext : JsonSerializerContext;
