using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using PgArchive.EndToEnd;
using PgArchive.PostgresTypes;
using PgArchive.Storage;

namespace PgArchive.Wal.Records;

/// <summary>
/// The block maps of every PostgreSQL version the parser claims (10 to 18; 15 is checked record by record against
/// pg_waldump in <see cref="WalParserOracleTests"/>, and no other version's pg_waldump is at hand), read the way a delta
/// reads them (<see cref="WalBlockMapReader"/> over the segments), against what each real server says it changed: every
/// page of a table filled in the range, the limit blocks of TRUNCATE, DROP TABLE, a VACUUM truncation and CREATE and
/// DROP DATABASE; and on 17 and 18, every block and limit block PostgreSQL's own WAL summaries record for the same range.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WalParserVersionTests : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _workspace.DisposeAsync();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(10, 0xD097)]
    [InlineData(11, 0xD098)]
    [InlineData(12, 0xD101)]
    [InlineData(13, 0xD106)]
    [InlineData(14, 0xD10D)]
    [InlineData(16, 0xD113)]
    [InlineData(17, 0xD116)]
    [InlineData(18, 0xD118)]
    public async Task Block_maps_of_each_version_hold_every_block_and_limit_its_server_changed(int major, int magic)
    {
        // Arrange: a real server of that version; a summary boundary (a checkpoint) on each side of the changes.
        var archive = _workspace.ArchiveDirectory;
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("pg"), $"cp %p {archive}/%f", new Dictionary<string, string?>(),
            extraConf: major >= 17 ? "autovacuum = off\nsummarize_wal = on\n" : "autovacuum = off\n", major: major);
        await cluster.ExecuteAsync("CREATE TABLE tr AS SELECT g AS id, repeat('y', 100) AS v FROM generate_series(1, 5000) g");
        await cluster.ExecuteAsync("SELECT pg_switch_wal()"); // maps are read by whole segments: tr's creation stays out of the range
        var from = await CheckpointAsync(cluster);
        await cluster.ExecuteAsync("""
            CREATE TABLE t (id int PRIMARY KEY, v text);
            INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
            CREATE TABLE u AS SELECT g AS id FROM generate_series(1, 2000) g;
            CREATE TABLE d AS SELECT g AS id FROM generate_series(1, 2000) g;
            """);
        var uOld = await WalParserOracleTests.FileNodeAsync(cluster, "u");
        var dNode = await WalParserOracleTests.FileNodeAsync(cluster, "d");
        foreach (var sql in (string[])["UPDATE t SET v = 'changed' WHERE id % 100 = 0", "TRUNCATE u", "DROP TABLE d", "DELETE FROM tr WHERE id > 1000", "VACUUM tr",
                     "CREATE DATABASE oracle_db"])
        {
            await cluster.ExecuteAsync(sql);
        }

        var uNew = await WalParserOracleTests.FileNodeAsync(cluster, "u");
        var tNode = await WalParserOracleTests.FileNodeAsync(cluster, "t");
        var trNode = await WalParserOracleTests.FileNodeAsync(cluster, "tr");
        var tBlocks = await cluster.ScalarAsync<long>("SELECT pg_relation_size('t') / 8192");
        var trBlocks = await cluster.ScalarAsync<long>("SELECT pg_relation_size('tr') / 8192");
        var dbOid = await cluster.ScalarAsync<uint>("SELECT oid FROM pg_database WHERE datname = 'oracle_db'");
        await cluster.ExecuteAsync("DROP DATABASE oracle_db");
        var to = await CheckpointAsync(cluster);
        await cluster.SwitchWalAndWaitForArchiveAsync();

        // Act: the maps of [from, to), parsed from the segments as backup-push parses those not archived yet.
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        await using var provider = services.BuildServiceProvider();
        var reader = new WalBlockMapReader(provider.GetRequiredService<InMemoryObjectStore>(), provider.GetRequiredService<ObjectCodec>());
        var read = await reader.ReadAsync(1, 1, from, to, 16L << 20, archive, Token);

        // Assert
        Assert.True(read.Changes is not null, $"PostgreSQL {major} (magic {magic:X4}): {read.NotAvailable}");
        var changes = read.Changes!;
        Assert.True(changes.Blocks.TryGetValue(tNode, out var t), $"no block of t in the maps of PostgreSQL {major}");
        var unnamed = Enumerable.Range(0, (int)tBlocks).Select(b => (uint)b).Where(b => !t!.Contains(b)).ToList(); // every page the INSERT and UPDATE wrote
        Assert.True(unnamed.Count == 0, $"{unnamed.Count} of t's {tBlocks} blocks are not in the maps: {string.Join(", ", unnamed.Take(20))}");
        Assert.Equal(0u, changes.Limits[uOld]);                            // dropped at commit of TRUNCATE
        Assert.Equal(0u, changes.Limits[uNew]);                            // created by TRUNCATE
        Assert.Equal(0u, changes.Limits[dNode]);                           // DROP TABLE
        Assert.Equal((uint)trBlocks, changes.Limits[trNode]);              // VACUUM truncated the tail
        Assert.Equal(0u, changes.Limits[new RelationFork(1663, dbOid, 0, 0)]); // CREATE and DROP DATABASE
        if (major >= 17)
        {
            await AssertHoldsWhatTheSummariesHoldAsync(cluster, from, to, changes);
        }
    }

    [Theory]
    [InlineData(0u, 0u)]
    [InlineData(1u, 1u)]
    [InlineData(18u, 1u)]
    [InlineData(32672u, 1u)] // one map page holds 8168 bytes of 4 heap blocks each
    [InlineData(32673u, 2u)]
    [InlineData(65344u, 2u)]
    public void A_visibility_map_truncation_keeps_the_map_blocks_the_remaining_heap_needs(uint heapBlocks, uint mapBlocks) =>
        Assert.Equal(mapBlocks, WalRecordDecoder.VisibilityMapLength(heapBlocks));

    /// <summary>Runs a checkpoint; returns its redo LSN once the summarizer (when on) has reached it: a summary ends there.</summary>
    private static async Task<Lsn> CheckpointAsync(PostgresCluster cluster)
    {
        await cluster.ExecuteAsync("CHECKPOINT");
        var redo = Lsn.Parse(await cluster.ScalarAsync<string>("SELECT redo_lsn::text FROM pg_control_checkpoint()"));
        if (cluster.Major >= 17)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!await cluster.ScalarAsync<bool>($"SELECT summarized_lsn >= '{redo}' FROM pg_get_wal_summarizer_state()"))
            {
                Assert.True(DateTime.UtcNow < deadline, "the WAL summarizer did not reach the checkpoint");
                await Task.Delay(50, Token);
            }
        }

        return redo;
    }

    /// <summary>Every block the summaries of [from, to) record is in the maps, and every limit block they record is at or above the maps'.</summary>
    private static async Task AssertHoldsWhatTheSummariesHoldAsync(PostgresCluster cluster, Lsn from, Lsn to, WalBlockChanges changes)
    {
        await using var connection = await cluster.ConnectAsync();
        await using var command = new NpgsqlCommand("""
            SELECT c.reltablespace, c.reldatabase, c.relfilenode, c.relforknumber, c.relblocknumber, c.is_limit_block
            FROM pg_available_wal_summaries() s, pg_wal_summary_contents(s.tli, s.start_lsn, s.end_lsn) c
            WHERE s.start_lsn >= $1::pg_lsn AND s.end_lsn <= $2::pg_lsn
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = from.ToString() });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = to.ToString() });
        await using var reader = await command.ExecuteReaderAsync(Token);
        int blocks = 0, limits = 0;
        var missing = new List<string>();
        while (await reader.ReadAsync(Token))
        {
            var fork = new RelationFork(reader.GetFieldValue<uint>(0), reader.GetFieldValue<uint>(1), reader.GetFieldValue<uint>(2), (byte)reader.GetInt16(3));
            var block = (uint)reader.GetInt64(4);
            if (reader.GetBoolean(5))
            {
                limits++;
                if (!changes.Limits.TryGetValue(fork, out var ours) || ours > block)
                {
                    missing.Add($"limit {block} of {fork}");
                }
            }
            else
            {
                blocks++;
                if (!changes.Blocks.TryGetValue(fork, out var ours) || !ours.Contains(block))
                {
                    missing.Add($"block {block} of {fork}");
                }
            }
        }

        Assert.True(blocks > 500 && limits >= 5, $"the summaries of [{from}, {to}) hold only {blocks} blocks and {limits} limit blocks");
        Assert.True(missing.Count == 0, $"{missing.Count} of the summaries' {blocks} blocks and {limits} limits are not in the maps: {string.Join("; ", missing.Take(20))}");
    }
}
