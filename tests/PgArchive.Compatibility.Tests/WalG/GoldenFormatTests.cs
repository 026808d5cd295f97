using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PgArchive.Backups;
using PgArchive.Compatibility.WalG.Oracle;

namespace PgArchive.Compatibility.WalG;

/// <summary>
/// PgArchive's serialisers against the golden files written from WAL-G's source (<c>WalG/Golden/README.md</c>): each
/// golden document read and written back by PgArchive keeps every field WAL-G writes, with the same value, and adds
/// only the documented PgArchive fields; times are written and read as Go marshals them; the oracle's tar writer
/// writes Go's header byte for byte.
/// </summary>
public sealed class GoldenFormatTests
{
    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "WalG", "Golden", name);

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>
    /// Every field of <paramref name="walg"/> is in <paramref name="ours"/> with an equal value (objects compared
    /// field by field, order-insensitive), except <paramref name="omitted"/>; <paramref name="ours"/> adds only
    /// <paramref name="extras"/>.
    /// </summary>
    private static void AssertSameFields(JsonObject walg, JsonObject ours, string where, string[]? omitted = null, string[]? extras = null)
    {
        foreach (var (name, value) in walg)
        {
            if (omitted?.Contains(name) == true)
            {
                continue;
            }

            Assert.True(ours.ContainsKey(name), $"{where}: PgArchive does not write WAL-G's field {name}");
            if (value is JsonObject inner && ours[name] is JsonObject ourInner)
            {
                AssertSameFields(inner, ourInner, where + "." + name, null, extras);
            }
            else
            {
                Assert.True(JsonNode.DeepEquals(value, ours[name]), $"{where}.{name}: WAL-G writes {value?.ToJsonString() ?? "null"}, PgArchive {ours[name]?.ToJsonString() ?? "null"}");
            }
        }

        foreach (var name in ours.Select(p => p.Key).Where(n => !walg.ContainsKey(n)))
        {
            Assert.True(extras?.Contains(name) == true, $"{where}: PgArchive writes {name}, which WAL-G does not");
        }
    }

    [Fact]
    public void Sentinel_written_by_pgarchive_has_walg_fields_and_values()
    {
        var golden = File.ReadAllText(Golden("backup_stop_sentinel.json"));

        var sentinel = JsonSerializer.Deserialize(golden, PgArchiveJsonContext.Default.BackupSentinel)!;
        var ours = Parse(JsonSerializer.Serialize(sentinel, PgArchiveJsonContext.Default.BackupSentinel));

        AssertSameFields(Parse(golden), ours, "sentinel", omitted: ["ChkpNum"]);
    }

    [Fact]
    public void Metadata_written_by_pgarchive_has_walg_fields_and_values()
    {
        var golden = File.ReadAllText(Golden("metadata.json"));

        var metadata = JsonSerializer.Deserialize(golden, PgArchiveJsonContext.Default.BackupMetadata)!;
        var ours = Parse(JsonSerializer.Serialize(metadata, PgArchiveJsonContext.Default.BackupMetadata));

        AssertSameFields(Parse(golden), ours, "metadata.json");
    }

    [Fact]
    public void Files_metadata_read_from_walg_keeps_its_fields_and_file_times_when_written_back()
    {
        var golden = File.ReadAllText(Golden("files_metadata.json"));

        var files = JsonSerializer.Deserialize(golden, PgArchiveJsonContext.Default.FilesMetadata)!;
        var ours = Parse(JsonSerializer.Serialize(files, PgArchiveJsonContext.Default.FilesMetadata));

        var walg = Parse(golden);
        Assert.Equal(walg["TarFileSets"]!.ToJsonString(), ours["TarFileSets"]!.ToJsonString());
        foreach (var (path, entry) in walg["Files"]!.AsObject())
        {
            var our = ours["Files"]![path]!.AsObject();
            var walgEntry = entry!.AsObject();
            foreach (var field in new[] { "IsIncremented", "IsSkipped", "UpdatesCount", "CorruptBlocks" })
            {
                Assert.True(JsonNode.DeepEquals(walgEntry[field], our[field]), $"{path}.{field}");
            }

            // The same instant, written in UTC with .NET's 100 ns (WAL-G: its local zone, nanoseconds).
            Assert.True(WalGTimeJsonConverter.TryParse(walgEntry["MTime"]!.GetValue<string>(), out var walgTime));
            Assert.Equal(WalGTimeJsonConverter.Format(walgTime), our["MTime"]!.GetValue<string>());
            Assert.EndsWith("Z", our["MTime"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.Equal("2026-11-20T10:00:01.9876543Z", ours["Files"]!["/base/5/16384"]!["MTime"]!.GetValue<string>());
        Assert.False(ours["Files"]!["/base/5/16385"]!.AsObject().ContainsKey("XxHash128"));
    }

    public static TheoryData<long, int, string, string> Times()
    {
        var data = new TheoryData<long, int, string, string>();
        foreach (var time in JsonDocument.Parse(File.ReadAllText(Golden("times.json"))).RootElement.EnumerateArray())
        {
            data.Add(time.GetProperty("unix").GetInt64(), time.GetProperty("nanos").GetInt32(), time.GetProperty("offset").GetString()!, time.GetProperty("go").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Times))]
    public void Times_are_read_as_go_writes_them_and_utc_ones_written_the_same(long unix, int nanos, string offset, string go)
    {
        var instant = DateTimeOffset.FromUnixTimeSeconds(unix).AddTicks(nanos / 100);

        Assert.True(WalGTimeJsonConverter.TryParse(go, out var parsed), go);

        Assert.Equal(instant, parsed);
        Assert.Equal(TimeSpan.Parse(offset.TrimStart('+'), CultureInfo.InvariantCulture), parsed.Offset);
        if (offset == "+00:00" && nanos % 100 == 0)
        {
            Assert.Equal(go, WalGTimeJsonConverter.Format(instant));
        }
    }

    [Fact]
    public async Task Oracle_tar_writer_writes_gos_header_for_walgs_pg_control()
    {
        using var tar = new MemoryStream();
        var writer = new GoTarWriter(tar);

        await writer.WriteAsync(new GoTarHeader("/global/pg_control", '0', Convert.ToInt64("600", 8), 8192)
        {
            Uid = 105, Gid = 108, Uname = "postgres", Gname = "postgres",
            ModTime = new DateTimeOffset(2025, 11, 20, 10, 0, 0, TimeSpan.Zero).AddTicks(4_999_999), // Go rounds to the second
        }, new byte[8192]);

        Assert.Equal(await File.ReadAllBytesAsync(Golden("pg_control.tar.header"), TestContext.Current.CancellationToken), tar.ToArray()[..512]);
    }
}
