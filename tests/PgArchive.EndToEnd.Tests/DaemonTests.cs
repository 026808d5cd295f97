using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace PgArchive.EndToEnd;

/// <summary>
/// <c>pgarchive daemon</c> with PostgreSQL 15: archive_command and restore_command through <c>pgarchive daemon-client</c>,
/// PITR exact; the daemon killed with SIGKILL at random instants under pgbench and restarted: PostgreSQL retries, every
/// segment it considers archived is stored, wal-verify finds no gap; bad input in one line. WAL-G's own client is not
/// installable here (no wal-g package in Debian 12): its requests are sent as bytes laid out by hand from WAL-G's source.
/// </summary>
public sealed class DaemonTests(PgArchiveCli cli, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();
    private readonly List<BackgroundCli> _daemons = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <summary>Kills the daemons a test left running (a failed assertion skips its own stop), then removes the workspace.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var daemon in _daemons)
        {
            await daemon.DisposeAsync();
        }

        await _workspace.DisposeAsync();
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string Socket => _workspace.PathFor("daemon.sock");

    private string ClientCommand(string operation) =>
        operation == "wal-push"
            ? $"\"{cli.Executable}\" daemon-client \"{Socket}\" wal-push \"%p\""
            : $"\"{cli.Executable}\" daemon-client \"{Socket}\" wal-fetch \"%f\" \"%p\"";

    private async Task<BackgroundCli> StartDaemonAsync(string? pgdata = null)
    {
        var log = _workspace.PathFor("daemon.log");
        var before = File.Exists(log) ? (await File.ReadAllTextAsync(log, Token)).Split("Daemon listening").Length : 1;
        var daemon = await BackgroundCli.StartAsync(cli, _workspace.FileArchiveSettings, log,
            pgdata is null ? ["daemon", Socket] : ["daemon", Socket, "--pgdata", pgdata]);
        _daemons.Add(daemon);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (daemon.Log.Split("Daemon listening").Length == before || !File.Exists(Socket))
        {
            Assert.True(DateTime.UtcNow < deadline && daemon.IsRunning, "the daemon did not start:\n" + daemon.Log);
            await Task.Delay(20, Token);
        }

        return daemon;
    }

    [Fact]
    public async Task Archive_and_restore_commands_through_the_daemon_give_an_exact_point_in_time_restore()
    {
        var settings = _workspace.FileArchiveSettings;
        var daemon = await StartDaemonAsync();
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ClientCommand("wal-push"), settings);
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        await source.PgbenchAsync("-c", "2", "-T", "6", "-n");
        (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push");
        await source.PgbenchAsync("-c", "2", "-T", "4", "-n");
        await source.ExecuteAsync("CREATE TABLE marker (id int PRIMARY KEY)");
        await source.ExecuteAsync("INSERT INTO marker VALUES (1), (2), (3)");
        var atTarget = await ChecksumAsync(source);
        await Task.Delay(1100, Token);
        var target = await source.ScalarAsync<DateTime>("SELECT clock_timestamp()");
        await Task.Delay(1100, Token);
        await source.ExecuteAsync("INSERT INTO marker VALUES (4), (5), (6)");
        await source.ExecuteAsync("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 1000");
        await source.SwitchWalAndWaitForArchiveAsync();
        var archived = await source.ScalarAsync<long>("SELECT archived_count FROM pg_stat_archiver");
        await source.StopAndDeleteAsync();

        var restoreDirectory = _workspace.CreateDirectory("restored");
        var data = Path.Combine(restoreDirectory, "data");
        (await cli.RunAsync(settings, "backup-fetch", data, "LATEST", "--recovery-target-time",
            target.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00", "--recovery-target-action", "promote")).EnsureSuccess("backup-fetch");
        // restore_command through the daemon instead of the one backup-fetch wrote: the last line of postgresql.auto.conf wins.
        await File.AppendAllTextAsync(Path.Combine(data, "postgresql.auto.conf"), $"restore_command = '{ClientCommand("wal-fetch").Replace("'", "''", StringComparison.Ordinal)}'\n", Token);
        await using var restored = await PostgresCluster.StartAsync(restoreDirectory, ClientCommand("wal-push"), settings);
        await restored.WaitUntilPromotedAsync(TimeSpan.FromMinutes(3));

        var markers = await restored.ScalarAsync<int[]>("SELECT array_agg(id ORDER BY id) FROM marker");
        var restoredChecksum = await ChecksumAsync(restored);
        var fetched = File.ReadLines(Path.Combine(restoreDirectory, "postgres.log")).Count(l => l.Contains("restored log file", StringComparison.Ordinal));
        output.WriteLine($"{archived} files archived through the daemon, {fetched} restored through it; checksum {restoredChecksum}");
        Assert.Equal([1, 2, 3], markers);
        Assert.Equal(atTarget, restoredChecksum);
        Assert.True(archived >= 3, $"archived {archived}");
        Assert.True(fetched >= 1, "recovery fetched no WAL");
        Assert.Contains("Fetched 0000", daemon.Log, StringComparison.Ordinal);

        await daemon.SignalAsync("TERM");
        Assert.Equal(0, daemon.ExitCode);
        Assert.False(File.Exists(Socket), "the daemon removes its socket when it stops");
        Assert.Contains("Daemon stopped", daemon.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_laid_out_as_walg_client_sends_them_are_served_with_walg_replies()
    {
        var settings = _workspace.FileArchiveSettings;
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), "false", settings);
        await source.ExecuteAsync("SELECT txid_current()");
        await source.ExecuteAsync("SELECT pg_switch_wal()");
        var daemon = await StartDaemonAsync(pgdata: source.DataDirectory);
        var first = Directory.GetFiles(Path.Combine(source.DataDirectory, "pg_wal", "archive_status"), "*.ready").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).First()!;

        var check = await WalGWire.ExchangeAsync(Socket, WalGWire.Check());
        var push = await WalGWire.ExchangeAsync(Socket, WalGWire.Push(first)); // walg-daemon-client ... wal-push %f
        var fetch = await WalGWire.ExchangeAsync(Socket, WalGWire.Fetch(first, "pg_wal/RECOVERYXLOG")); // ... wal-fetch %f %p
        var missing = await WalGWire.ExchangeAsync(Socket, WalGWire.Fetch("0000000100000000000000FF", "pg_wal/RECOVERYXLOG2"));
        var unknown = await WalGWire.ExchangeAsync(Socket, [(byte)'X', 0x00, 0x03]);
        var clientMissing = await cli.RunAsync(new Dictionary<string, string?>(), "daemon-client", Socket, "wal-fetch", "0000000100000000000000FF", _workspace.PathFor("x"));

        Assert.Equal("O", check);
        Assert.Equal("O", push);
        Assert.Equal("O", fetch);
        Assert.Equal("N", missing);
        Assert.Equal("E", unknown);
        Assert.Equal(74, clientMissing.ExitCode); // as wal-fetch: PostgreSQL reads it as "no such file"
        Assert.Equal("0000000100000000000000FF is not in the archive.", clientMissing.Stderr.Trim());
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(source.DataDirectory, "pg_wal", first), Token),
            await File.ReadAllBytesAsync(Path.Combine(source.DataDirectory, "pg_wal", "RECOVERYXLOG"), Token));
        Assert.True(Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005"), first + ".*").Length == 1);
        await daemon.SignalAsync("TERM");
    }

    [Fact]
    public async Task Daemon_killed_at_random_instants_under_pgbench_loses_no_segment_postgres_considers_archived()
    {
        var kills = int.Parse(Environment.GetEnvironmentVariable("PGARCHIVE_DAEMON_KILLS") ?? "3", CultureInfo.InvariantCulture);
        var settings = _workspace.FileArchiveSettings;
        var daemon = await StartDaemonAsync();
        await using var source = await PostgresCluster.StartAsync(_workspace.PathFor("source"), ClientCommand("wal-push"), settings,
            "wal_keep_size = 1GB\n"); // keep the .done markers of archived segments for the check below
        await source.PgbenchAsync("-i", "-s", "2", "-q");
        (await cli.RunAsync(PitrScenario.Merge(settings, source.LibpqEnvironment), "backup-push", source.DataDirectory)).EnsureSuccess("backup-push");
        await source.ExecuteAsync("CREATE TABLE bulk (id bigint, payload text)");
        using var stop = new CancellationTokenSource();
        var load = Task.WhenAll(WalReceiveTests.RunPgbenchUntilAsync(source, stop.Token), WalReceiveTests.BulkWriteAsync(source, stop.Token));
        var random = new Random(Environment.GetEnvironmentVariable("PGARCHIVE_DAEMON_SEED") is { } seed ? int.Parse(seed, CultureInfo.InvariantCulture) : Environment.TickCount);
        for (var i = 0; i < kills; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(300, 2000)), Token);
            var failedBefore = await source.ScalarAsync<long>("SELECT failed_count FROM pg_stat_archiver");
            await daemon.SignalAsync("KILL");
            _daemons.Remove(daemon);
            await daemon.DisposeAsync();
            Assert.True(File.Exists(Socket), "a killed daemon leaves its socket behind (stale)");
            await WaitUntilAsync(async () => await source.ScalarAsync<long>("SELECT failed_count FROM pg_stat_archiver") > failedBefore,
                "PostgreSQL to see archive_command fail while the daemon is down");
            daemon = await StartDaemonAsync(); // replaces the stale socket
        }

        await stop.CancelAsync();
        await load;
        await source.SwitchWalAndWaitForArchiveAsync();
        var stats = await source.ScalarAsync<string>("SELECT archived_count || ' archived, ' || failed_count || ' failed' FROM pg_stat_archiver");

        var done = Directory.GetFiles(Path.Combine(source.DataDirectory, "pg_wal", "archive_status"), "*.done").Select(Path.GetFileNameWithoutExtension).ToList();
        var stored = Directory.GetFiles(Path.Combine(_workspace.ArchiveDirectory, "wal_005")).Select(Path.GetFileNameWithoutExtension).ToHashSet(); // less .lz4
        var doneNotStored = done.Where(n => !stored.Contains(n!)).ToList();
        var verifySettings = PitrScenario.Merge(settings, source.LibpqEnvironment);
        verifySettings["WALG_UPLOAD_CONCURRENCY"] = "1";
        var verify = await cli.RunAsync(verifySettings, "wal-verify", "integrity", "--json");
        output.WriteLine($"{kills} kills; {stats}; {done.Count} .done markers; wal-verify: {verify.Stdout}");

        Assert.Empty(doneNotStored);
        Assert.True(done.Count >= 5, $"only {done.Count} segments archived");
        Assert.Equal(0, verify.ExitCode);
        Assert.DoesNotContain("MISSING_LOST", verify.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("MISSING_DELAYED", verify.Stdout, StringComparison.Ordinal);
        await daemon.SignalAsync("TERM");
    }

    [Fact]
    public async Task A_socket_path_that_is_a_regular_file_and_a_client_without_an_answering_daemon_fail_in_one_line()
    {
        var file = _workspace.PathFor("not-a-socket");
        await File.WriteAllTextAsync(file, "x", Token);
        ProcessRunner.GiveToOsUser(file);
        var segment = _workspace.PathFor("000000010000000000000001");
        await File.WriteAllBytesAsync(segment, new byte[16], Token);

        var daemon = await cli.RunAsync(_workspace.FileArchiveSettings, "daemon", file);
        var watch = Stopwatch.StartNew();
        var noSocket = await cli.RunAsync(new Dictionary<string, string?>(), "daemon-client", _workspace.PathFor("missing.sock"), "wal-push", segment);
        var noSocketTime = watch.Elapsed;
        var stale = _workspace.PathFor("stale.sock");
        (await ProcessRunner.RunAsync("python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", stale])).EnsureSuccess("stale socket");
        watch.Restart();
        var nobody = await cli.RunAsync(new Dictionary<string, string?>(), "daemon-client", stale, "wal-push", segment, "--connection-timeout", "2s");
        var nobodyTime = watch.Elapsed;
        var badCommand = await cli.RunAsync(new Dictionary<string, string?>(), "daemon-client", stale, "wal-fetch", "x");
        // Something that accepts and never answers: the client gives up after --timeout.
        var silentPath = _workspace.PathFor("silent.sock");
        using var silent = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        silent.Bind(new UnixDomainSocketEndPoint(silentPath));
        silent.Listen(4);
        File.SetUnixFileMode(silentPath, (UnixFileMode)0b110_110_110);
        watch.Restart();
        var mute = await cli.RunAsync(new Dictionary<string, string?>(), "daemon-client", silentPath, "wal-fetch", "000000010000000000000001", "/tmp/x", "--timeout", "1s");
        var muteTime = watch.Elapsed;

        WalReceiveTests.AssertOneLine(daemon, 2, $"Daemon socket path '{file}' exists and is not a socket");
        Assert.Equal("x", await File.ReadAllTextAsync(file, Token));
        WalReceiveTests.AssertOneLine(noSocket, 1, $"Daemon socket '{_workspace.PathFor("missing.sock")}' does not exist");
        WalReceiveTests.AssertOneLine(nobody, 1, $"Cannot connect to the daemon at '{stale}'");
        WalReceiveTests.AssertOneLine(badCommand, 2, "wal-fetch takes two arguments");
        WalReceiveTests.AssertOneLine(mute, 1, $"The daemon at '{silentPath}' did not answer within 1 s (--timeout)");
        Assert.True(muteTime < TimeSpan.FromSeconds(5), $"daemon-client took {muteTime} with --timeout 1s");
        Assert.True(noSocketTime < TimeSpan.FromSeconds(5), $"daemon-client took {noSocketTime} without a socket");
        Assert.True(nobodyTime < TimeSpan.FromSeconds(5), $"daemon-client took {nobodyTime} with nobody listening");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(100, Token);
        }
    }

    private static Task<string> ChecksumAsync(PostgresCluster cluster) => cluster.ScalarAsync<string>(
        "SELECT (SELECT count(*) FROM pgbench_history) || '/' || (SELECT sum(abalance) FROM pgbench_accounts) || '/' || (SELECT sum(tbalance) FROM pgbench_tellers)");

    /// <summary>
    /// WAL-G's walg-daemon-client on the wire, from its source (internal/daemon/client.go getMessage, common.go ArgsToBytes):
    /// type byte, uint16 big-endian total length, then one argument raw or two framed; the reply is one byte.
    /// </summary>
    private static class WalGWire
    {
        public static byte[] Check() => [(byte)'C', 0x00, 0x03];

        public static byte[] Push(string walFile)
        {
            var path = Encoding.UTF8.GetBytes(walFile);
            return [(byte)'F', (byte)((path.Length + 3) >> 8), (byte)(path.Length + 3), .. path];
        }

        public static byte[] Fetch(string name, string destination)
        {
            var first = Encoding.UTF8.GetBytes(name);
            var second = Encoding.UTF8.GetBytes(destination);
            byte[] body = [2, (byte)(first.Length >> 8), (byte)first.Length, .. first, (byte)(second.Length >> 8), (byte)second.Length, .. second];
            return [(byte)'f', (byte)((body.Length + 3) >> 8), (byte)(body.Length + 3), .. body];
        }

        /// <summary>Sends the message and reads the first byte of the reply, as walg-daemon-client does.</summary>
        public static async Task<string> ExchangeAsync(string socketPath, byte[] message)
        {
            using var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token);
            await socket.SendAsync(message, SocketFlags.None, timeout.Token);
            var reply = new byte[1];
            var read = await socket.ReceiveAsync(reply, SocketFlags.None, timeout.Token);
            return read == 1 ? ((char)reply[0]).ToString() : "";
        }
    }
}
