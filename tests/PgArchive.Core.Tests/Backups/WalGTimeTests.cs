using System.Text.Json;
using System.Text.Json.Nodes;

namespace PgArchive.Backups;

/// <summary>
/// Times in WAL-G's form (Go's encoding/json of a time.Time: RFC 3339, nanoseconds with trailing zeros trimmed,
/// <c>Z</c> for UTC) wherever PgArchive writes JSON, and read back in any RFC 3339 form WAL-G writes.
/// </summary>
public sealed class WalGTimeTests
{
    private static readonly DateTimeOffset Instant = new DateTimeOffset(2026, 12, 7, 0, 13, 47, TimeSpan.Zero).AddTicks(7014610);

    [Fact]
    public void Sentinel_and_metadata_times_are_written_in_utc_with_z_and_no_trailing_zeros()
    {
        var sentinel = new BackupSentinel { StartTime = Instant, FinishTime = new DateTimeOffset(2026, 12, 7, 3, 14, 0, TimeSpan.FromHours(3)) };
        var metadata = new BackupMetadata { StartTime = Instant, FinishTime = Instant.AddTicks(6) };

        var s = JsonNode.Parse(JsonSerializer.Serialize(sentinel, PgArchiveJsonContext.Default.BackupSentinel))!;
        var m = JsonNode.Parse(JsonSerializer.Serialize(metadata, PgArchiveJsonContext.Default.BackupMetadata))!;

        Assert.Equal("2026-12-07T00:13:47.701461Z", s["StartTime"]!.GetValue<string>());
        Assert.Equal("2026-12-07T00:14:00Z", s["FinishTime"]!.GetValue<string>());
        Assert.Equal("2026-12-07T00:13:47.701461Z", m["start_time"]!.GetValue<string>());
        Assert.Equal("2026-12-07T00:13:47.7014616Z", m["finish_time"]!.GetValue<string>());
    }

    [Fact]
    public void File_modification_times_and_listing_times_are_written_in_walg_form()
    {
        var files = new FilesMetadata();
        files.Files["/base/5/16384"] = new BackupFileDescription { MTime = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(1230000) };
        var listing = new List<BackupListEntry> { new() { BackupName = "base_000000010000000000000004", Time = Instant } };

        var f = JsonNode.Parse(JsonSerializer.Serialize(files, PgArchiveJsonContext.Default.FilesMetadata))!;
        var l = JsonNode.Parse(JsonSerializer.Serialize(listing, PgArchiveJsonContext.Default.ListBackupListEntry))!;

        Assert.Equal("2026-01-02T03:04:05.123Z", f["Files"]!["/base/5/16384"]!["MTime"]!.GetValue<string>());
        Assert.Equal("2026-12-07T00:13:47.701461Z", l[0]!["time"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("2026-11-20T13:00:00.123456789+03:00", "2026-11-20T10:00:00.1234567Z")] // WAL-G's MTime: local zone, nanoseconds (truncated, not rounded)
    [InlineData("2026-11-20T10:00:00.999999999Z", "2026-11-20T10:00:00.9999999Z")]
    [InlineData("2026-11-20T10:00:00.123456Z", "2026-11-20T10:00:00.123456Z")] // WAL-G's sentinel and metadata times
    [InlineData("2026-11-20T10:00:00Z", "2026-11-20T10:00:00Z")]
    [InlineData("2026-11-20T04:30:00.5-05:30", "2026-11-20T10:00:00.5Z")]
    [InlineData("2026-12-07T00:13:47.7014616+00:00", "2026-12-07T00:13:47.7014616Z")] // what PgArchive wrote before
    public void Every_rfc3339_form_walg_writes_is_read(string stored, string expected)
    {
        var json = $$$"""{"Files":{"/base/1/1":{"IsIncremented":false,"IsSkipped":false,"MTime":"{{{stored}}}","UpdatesCount":0}},"TarFileSets":{}}""";

        var files = JsonSerializer.Deserialize(json, PgArchiveJsonContext.Default.FilesMetadata)!;

        Assert.Equal(expected, WalGTimeJsonConverter.Format(files.Files["/base/1/1"].MTime));
    }

    [Theory]
    [InlineData("2026-11-20 10:00:00Z")]
    [InlineData("2026-11-20T10:00:00")]
    [InlineData("2026-11-20T10:00:00.1234567890Z")]
    [InlineData("yesterday")]
    public void A_time_that_is_not_rfc3339_fails_as_invalid_json(string stored)
    {
        var json = $$"""{"start_time":"{{stored}}"}""";

        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, PgArchiveJsonContext.Default.BackupMetadata));
    }

    [Fact]
    public void A_file_time_read_from_walg_equals_the_same_instant_read_from_the_file_system()
    {
        // .NET's file times have 100 ns ticks: a nanosecond time must compare equal once the digits beyond are dropped.
        Assert.True(WalGTimeJsonConverter.TryParse("2026-11-20T10:00:00.123456789Z", out var parsed));

        Assert.Equal(new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc).AddTicks(1234567), parsed.UtcDateTime);
    }

    [Fact]
    public void Backup_times_are_rounded_up_to_whole_microseconds_as_walg_records_them()
    {
        Assert.Equal(Instant, WalGTimeJsonConverter.CeilToMicroseconds(Instant));
        Assert.Equal(Instant.AddTicks(10), WalGTimeJsonConverter.CeilToMicroseconds(Instant.AddTicks(1)));
        Assert.Equal(Instant.AddTicks(10), WalGTimeJsonConverter.CeilToMicroseconds(Instant.AddTicks(9)));
    }
}
