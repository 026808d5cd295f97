using System.Globalization;
using System.Text.RegularExpressions;
using PgArchive.PostgresTypes;
using PgArchive.EndToEnd;

namespace PgArchive.Wal.Records;

/// <summary>
/// The parser against PostgreSQL's own decoder: a real PostgreSQL 15 writes WAL for known changes, and every record
/// pg_waldump prints (its block references) must come out of our parser with the same blocks, records cut by a
/// segment's end included (joined from two segments' maps as the reader joins them).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class WalParserOracleTests : IAsyncLifetime
{
    private const string WalDump = "/usr/lib/postgresql/15/bin/pg_waldump";
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _workspace.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Parser_finds_every_block_reference_pg_waldump_prints_and_the_limit_blocks_of_truncate_drop_and_create()
    {
        // Arrange: known changes on a real server, archived by cp.
        var archive = _workspace.ArchiveDirectory;
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("pg"), $"cp %p {archive}/%f", new Dictionary<string, string?>());
        var start = await cluster.ScalarAsync<string>("SELECT pg_walfile_name(pg_current_wal_lsn())");
        await cluster.ExecuteAsync("""
            CREATE TABLE t (id int PRIMARY KEY, v text);
            INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
            CREATE TABLE u AS SELECT g AS id FROM generate_series(1, 5000) g;
            CREATE TABLE d AS SELECT g AS id FROM generate_series(1, 5000) g;
            CREATE TABLE tr AS SELECT g AS id, repeat('y', 100) AS v FROM generate_series(1, 20000) g;
            CHECKPOINT;
            """);
        var uOld = await FileNodeAsync(cluster, "u");
        var dNode = await FileNodeAsync(cluster, "d");
        var tOld = await FileNodeAsync(cluster, "t");
        foreach (var sql in (string[])["UPDATE t SET v = 'changed' WHERE id % 100 = 0", "TRUNCATE u", "DROP TABLE d", "DELETE FROM tr WHERE id > 5000",
                     "VACUUM tr", "VACUUM FULL t"])
        {
            await cluster.ExecuteAsync(sql);
        }

        var uNew = await FileNodeAsync(cluster, "u");
        var tNew = await FileNodeAsync(cluster, "t");
        var trNode = await FileNodeAsync(cluster, "tr");
        var trBlocks = await cluster.ScalarAsync<long>("SELECT pg_relation_size('tr') / 8192");
        await cluster.ExecuteAsync("CREATE DATABASE oracle_db");
        var dbOid = await cluster.ScalarAsync<uint>("SELECT oid FROM pg_database WHERE datname = 'oracle_db'");
        await cluster.ExecuteAsync("DROP DATABASE oracle_db");
        await cluster.SwitchWalAndWaitForArchiveAsync();
        var segments = Directory.GetFiles(archive).Select(Path.GetFileName).OfType<string>()
            .Where(n => n.Length == 24 && string.CompareOrdinal(n, start) >= 0).Order(StringComparer.Ordinal).ToList();
        Assert.True(segments.Count >= 3, $"expected WAL over several segments, got {segments.Count}");

        // Act: parse every segment, record by record, and join the records cut by segment ends.
        var ours = new Dictionary<ulong, List<(RelationFork Fork, uint Block)>>();
        var all = new WalBlockChanges();
        WalBlockMap? previous = null;
        var joined = 0;
        var limits = new List<(RelationFork Fork, uint Limit)>();
        foreach (var name in segments)
        {
            var parse = await WalBlockMapStore.ParseFileAsync(Path.Combine(archive, name), Token);
            var map = parse.Map ?? throw new InvalidOperationException($"{name}: {parse.Reason}");
            Assert.Equal(0xD110, map.PageMagic);
            await using (var file = File.OpenRead(Path.Combine(archive, name)))
            {
                await WalSegmentParser.ParseAsync(file, r =>
                {
                    ours[r.Lsn.Value] = [.. r.Blocks];
                    limits.AddRange(r.Limits);
                }, Token);
            }

            if (previous is { TailLsn: > 0 } p)
            {
                var one = new WalBlockChanges();
                Assert.Null(WalBlockMapReader.Join(p, map, WalFormat.FromMagic(map.PageMagic)!, one));
                ours[p.TailLsn] = [.. one.Blocks.SelectMany(b => b.Value.Select(block => (b.Key, block)))];
                all.Add(one);
                joined++;
            }

            all.Add(map.Changes);
            previous = map;
        }

        // Assert: pg_waldump's records, one by one.
        var dump = await ProcessRunner.RunAsync(WalDump, ["-p", archive, segments[0], segments[^2]], asOsUser: false, timeout: TimeSpan.FromMinutes(2));
        var records = 0;
        foreach (var line in dump.Stdout.Split('\n'))
        {
            if (RecordLine().Match(line) is not { Success: true } record)
            {
                continue;
            }

            records++;
            var lsnText = record.Groups["lsn"].Value.Split('/');
            var lsn = (ulong.Parse(lsnText[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32) |
                      ulong.Parse(lsnText[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var expected = BlockRef().Matches(line).Select(m => (new RelationFork(
                uint.Parse(m.Groups["spc"].Value, CultureInfo.InvariantCulture), uint.Parse(m.Groups["db"].Value, CultureInfo.InvariantCulture),
                uint.Parse(m.Groups["rel"].Value, CultureInfo.InvariantCulture), ForkOf(m.Groups["fork"].Value)),
                uint.Parse(m.Groups["blk"].Value, CultureInfo.InvariantCulture))).ToHashSet();
            Assert.True(ours.TryGetValue(lsn, out var found), $"pg_waldump's record at {new Lsn(lsn)} was not decoded: {line}");
            Assert.True(expected.SetEquals(found!), $"blocks differ at {new Lsn(lsn)}: pg_waldump {string.Join(", ", expected)}; ours {string.Join(", ", found!)}");
            Assert.All(expected, e => Assert.Contains(e.Item2, all.Blocks[e.Item1]));
        }

        Assert.True(records > 10000, $"pg_waldump printed only {records} records: {dump.Stderr}");
        Assert.True(joined >= 1, "no record crossed a segment boundary");
        Assert.Equal(0u, all.Limits[uOld with { Fork = 0 }]);       // dropped at commit of TRUNCATE
        Assert.Equal(0u, all.Limits[uNew with { Fork = 0 }]);       // created by TRUNCATE
        Assert.Equal(0u, all.Limits[dNode with { Fork = 0 }]);      // DROP TABLE
        Assert.Equal(0u, all.Limits[dNode with { Fork = 2 }]);
        Assert.False(all.Limits.ContainsKey(dNode with { Fork = 1 })); // the free space map is not WAL-logged: no limit, as the summarizer
        Assert.Equal(0u, all.Limits[tOld with { Fork = 0 }]);       // VACUUM FULL drops the old file...
        Assert.Equal(0u, all.Limits[tNew with { Fork = 0 }]);       // ...and creates the new one
        Assert.Contains((trNode with { Fork = 0 }, (uint)trBlocks), limits); // VACUUM truncated the tail (the map keeps 0: tr was created in range)
        Assert.Equal(0u, all.Limits[new RelationFork(1663, dbOid, 0, 0)]); // CREATE and DROP DATABASE
    }

    internal static async Task<RelationFork> FileNodeAsync(PostgresCluster cluster, string table)
    {
        var db = await cluster.ScalarAsync<uint>("SELECT oid FROM pg_database WHERE datname = current_database()");
        var node = await cluster.ScalarAsync<uint>($"SELECT pg_relation_filenode('{table}')::oid");
        return new RelationFork(1663, db, node, 0);
    }

    private static byte ForkOf(string name) => name switch
    {
        "" or "main" => 0,
        "fsm" => 1,
        "vm" => 2,
        "init" => 3,
        _ => throw new FormatException(name),
    };

    [GeneratedRegex(@"^rmgr: .*lsn: (?<lsn>[0-9A-F]+/[0-9A-F]+),")]
    private static partial Regex RecordLine();

    [GeneratedRegex(@"blkref #\d+: rel (?<spc>\d+)/(?<db>\d+)/(?<rel>\d+)(?: fork (?<fork>\w+))? blk (?<blk>\d+)")]
    private static partial Regex BlockRef();
}
