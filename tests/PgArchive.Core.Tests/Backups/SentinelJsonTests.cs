using System.Text.Json;
using System.Text.Json.Nodes;

namespace PgArchive.Backups;

public sealed class SentinelJsonTests
{
    [Fact]
    public async Task A_WalG_sentinel_deserialises_with_every_field()
    {
        await using var json = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Samples", "walg_backup_stop_sentinel.json"));
        var sentinel = await JsonSerializer.DeserializeAsync(json, PgArchiveJsonContext.Default.BackupSentinel, TestContext.Current.CancellationToken);

        Assert.NotNull(sentinel);
        Assert.Equal(100663336UL, sentinel.Lsn);
        Assert.Equal(100663608UL, sentinel.FinishLsn);
        Assert.Equal(150010, sentinel.PgVersion);
        Assert.Equal(7311111111111111111UL, sentinel.SystemIdentifier);
        Assert.Equal(3145738, sentinel.CompressedSize);
        Assert.Equal("/var/lib/postgresql/15/main", sentinel.Spec!.BasePrefix);
        Assert.Equal(new TablespaceLocation("/mnt/ts1/", "pg_tblspc/16390"), sentinel.Spec.Tablespaces["16390"]);
        Assert.Equal(42, sentinel.UserData!.Value.GetProperty("ticket").GetInt32());
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 10, 0, 5, TimeSpan.Zero).AddTicks(6543210), sentinel.FinishTime);
        Assert.Equal("db1", sentinel.Hostname);
        Assert.Null(sentinel.DeltaFrom);
    }

    [Fact]
    public void Our_sentinel_serialises_with_WalG_names_and_numeric_lsns()
    {
        var spec = new TablespaceSpec { BasePrefix = "/pgdata" };
        spec.Tablespaces["16390"] = new TablespaceLocation("/ts/", "pg_tblspc/16390");
        var sentinel = new BackupSentinel
        {
            Lsn = 0x3000028,
            FinishLsn = 0x3000100,
            PgVersion = 150018,
            SystemIdentifier = 1,
            Spec = spec,
            StartTime = new DateTimeOffset(2026, 11, 25, 1, 2, 3, TimeSpan.Zero),
            Version = BackupSentinel.CurrentVersion, // as backup-push sets it
        };

        var node = JsonNode.Parse(JsonSerializer.Serialize(sentinel, PgArchiveJsonContext.Default.BackupSentinel))!.AsObject();

        Assert.Equal(0x3000028UL, node["LSN"]!.GetValue<ulong>());
        Assert.Equal(0x3000100UL, node["FinishLSN"]!.GetValue<ulong>());
        Assert.Equal(2, node["Version"]!.GetValue<int>());
        Assert.Equal("%Y-%m-%dT%H:%M:%S.%fZ", node["DateFmt"]!.GetValue<string>());
        Assert.Equal("2026-11-25T01:02:03Z", node["StartTime"]!.GetValue<string>());
        Assert.Equal("/ts/", node["Spec"]!["16390"]!["loc"]!.GetValue<string>());
        Assert.Equal("16390", node["Spec"]!["tablespaces"]![0]!.GetValue<string>());
        Assert.False(node.ContainsKey("DeltaFrom"));
        Assert.False(node.ContainsKey("FilesMetadataDisabled") || node.ContainsKey("DataCatalogSize")); // WAL-G's omitempty: false and 0 are left out
        foreach (var name in new[] { "PgVersion", "SystemIdentifier", "UncompressedSize", "CompressedSize", "Hostname", "DataDir", "IsPermanent", "FinishTime" })
        {
            Assert.True(node.ContainsKey(name), $"missing {name}");
        }
    }

    [Fact]
    public void Metadata_uses_snake_case_names()
    {
        var node = JsonNode.Parse(JsonSerializer.Serialize(new BackupMetadata { StartLsn = 5, IsPermanent = true }, PgArchiveJsonContext.Default.BackupMetadata))!.AsObject();
        Assert.Equal(5UL, node["start_lsn"]!.GetValue<ulong>());
        Assert.True(node["is_permanent"]!.GetValue<bool>());
        Assert.True(node.ContainsKey("finish_lsn") && node.ContainsKey("date_fmt") && node.ContainsKey("uncompressed_size"));
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private const string DetailRowJson = """
        [
          {
            "backup_name": "base_000000010000000000000002",
            "time": "2026-12-07T08:05:01Z",
            "wal_file_name": "000000010000000000000002",
            "storage_name": "default",
            "start_time": "2026-12-07T08:00:01.123456Z",
            "finish_time": "2026-12-07T08:05:00Z",
            "date_fmt": "%Y-%m-%dT%H:%M:%S.%fZ",
            "hostname": "db1",
            "data_dir": "/var/lib/postgresql/15/main",
            "pg_version": 150010,
            "start_lsn": 33554472,
            "finish_lsn": 33554688,
            "is_permanent": true,
            "system_identifier": 7300000000000000001,
            "uncompressed_size": 123456789,
            "compressed_size": 2345678,
            "user_data": {
              "team": "db",
              "n": [
                1,
                2
              ]
            }
          }
        ]
        """;

    private static BackupDetail DetailWithEveryField()
    {
        var sentinel = new BackupSentinel { Lsn = 0x2000028, FinishLsn = 0x2000100 };
        var metadata = new BackupMetadata
        {
            StartTime = new DateTimeOffset(2026, 12, 7, 8, 0, 1, TimeSpan.Zero).AddTicks(1234560),
            FinishTime = new DateTimeOffset(2026, 12, 7, 8, 5, 0, TimeSpan.Zero),
            Hostname = "db1",
            DataDir = "/var/lib/postgresql/15/main",
            PgVersion = 150010,
            StartLsn = 0x2000028,
            FinishLsn = 0x2000100,
            IsPermanent = true,
            SystemIdentifier = 7300000000000000001,
            UncompressedSize = 123456789,
            CompressedSize = 2345678,
            UserData = JsonElement.Parse("""{"team":"db","n":[1,2]}"""),
        };
        return new BackupDetail(new BackupInfo("base_000000010000000000000002", new DateTimeOffset(2026, 12, 7, 8, 5, 1, TimeSpan.Zero), "000000010000000000000002"),
            sentinel, metadata);
    }

    [Fact]
    public void A_backup_list_detail_row_is_the_listing_fields_then_metadata_json_fields_and_reads_back_the_same()
    {
        var entry = DetailWithEveryField().ToEntry();

        var json = JsonSerializer.Serialize(new List<BackupDetailEntry> { entry }, PgArchiveJsonContext.Default.ListBackupDetailEntry);

        Assert.Equal(DetailRowJson, json, ignoreLineEndingDifferences: true);
        var read = JsonSerializer.Deserialize(json, PgArchiveJsonContext.Default.ListBackupDetailEntry)!;
        Assert.Equal(json, JsonSerializer.Serialize(read, PgArchiveJsonContext.Default.ListBackupDetailEntry));
    }

    [Fact]
    public void Metadata_json_is_the_detail_row_without_its_listing_fields_and_reads_back_the_same()
    {
        var expected = JsonNode.Parse(DetailRowJson)![0]!.AsObject();
        foreach (var listing in new[] { "backup_name", "time", "wal_file_name", "storage_name" })
        {
            Assert.True(expected.Remove(listing));
        }

        var json = JsonSerializer.Serialize(DetailWithEveryField().Metadata, PgArchiveJsonContext.Default.BackupMetadata);

        Assert.Equal(expected.ToJsonString(Indented), json, ignoreLineEndingDifferences: true);
        var read = JsonSerializer.Deserialize(json, PgArchiveJsonContext.Default.BackupMetadata)!;
        Assert.Equal(json, JsonSerializer.Serialize(read, PgArchiveJsonContext.Default.BackupMetadata));
    }
}
