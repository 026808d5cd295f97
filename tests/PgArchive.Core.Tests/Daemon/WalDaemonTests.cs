using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PgArchive.Storage;
using PgArchive.Support;
using PgArchive.Wal;

namespace PgArchive.Daemon;

/// <summary>
/// The daemon on a real Unix domain socket over the in-memory store. Requests are written as raw bytes laid out from
/// WAL-G's client (internal/daemon/client.go), not through <see cref="DaemonFrame"/>.
/// </summary>
public sealed class WalDaemonTests : IDisposable
{
    private const string Segment = "000000010000000000000003";
    private readonly string _directory = Directory.CreateTempSubdirectory("pgarchive-daemon-").FullName;
    private readonly ServiceProvider _services;
    private readonly InMemoryObjectStore _store;

    public WalDaemonTests()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "pg_wal"));
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory().AddWalDaemon(o =>
        {
            o.SocketPath = SocketPath;
            o.DataDirectory = _directory;
            o.RequestTimeout = TimeSpan.FromSeconds(5);
        });
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<InMemoryObjectStore>();
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string SocketPath => Path.Combine(_directory, "d.sock");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>'F', uint16 big-endian total length, the path raw: WAL-G's one-argument message.</summary>
    private static byte[] PushMessage(string path) => [0x46, (byte)((path.Length + 3) >> 8), (byte)(path.Length + 3), .. Ascii(path)];

    /// <summary>'f', total length, count 2, then each argument's uint16 length and bytes: WAL-G's ArgsToBytes.</summary>
    private static byte[] FetchMessage(string name, string destination)
    {
        var length = 3 + 1 + 2 + name.Length + 2 + destination.Length;
        return [0x66, (byte)(length >> 8), (byte)length, 0x02, 0x00, (byte)name.Length, .. Ascii(name), 0x00, (byte)destination.Length, .. Ascii(destination)];
    }

    private string WriteSegment(string name)
    {
        var path = Path.Combine(_directory, "pg_wal", name);
        File.WriteAllBytes(path, WalSegments.Filled(name, 7));
        return path;
    }

    private async Task<IHostedService> StartAsync()
    {
        var daemon = Assert.Single(_services.GetServices<IHostedService>());
        await daemon.StartAsync(Token);
        await WaitUntilListeningAsync();
        return daemon;
    }

    /// <summary>Waits until a connection to the socket succeeds (a stale socket file may be there before).</summary>
    private async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await probe.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), Token);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, Token);
            }
        }
    }

    /// <summary>Sends <paramref name="request"/>, ends the sending side and returns every byte the daemon sends before closing the connection.</summary>
    private async Task<byte[]> ExchangeAsync(byte[] request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), Token);
        await socket.SendAsync(request, SocketFlags.None, Token);
        socket.Shutdown(SocketShutdown.Send); // nothing more: after a check, the daemon then closes too
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        using var reply = new MemoryStream();
        var buffer = new byte[16];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            reply.Write(buffer, 0, read);
        }

        return reply.ToArray();
    }

    [Fact]
    public async Task Push_of_a_bare_name_archives_it_from_pg_wal_and_answers_O_as_walg_daemon()
    {
        WriteSegment(Segment);
        var daemon = await StartAsync();

        var reply = await ExchangeAsync(PushMessage(Segment));
        await daemon.StopAsync(Token);

        Assert.Equal("O"u8.ToArray(), reply);
        Assert.Equal(["wal_005/" + Segment + ".lz4"], _store.Keys);
    }

    [Fact]
    public async Task Push_of_a_path_relative_to_the_data_directory_archives_it()
    {
        WriteSegment(Segment);
        var daemon = await StartAsync();

        var reply = await ExchangeAsync(PushMessage("pg_wal/" + Segment));
        await daemon.StopAsync(Token);

        Assert.Equal("O"u8.ToArray(), reply);
        Assert.Equal(["wal_005/" + Segment + ".lz4"], _store.Keys);
    }

    [Fact]
    public async Task Push_of_a_segment_archived_with_other_content_answers_E_and_leaves_the_object()
    {
        var path = WriteSegment(Segment);
        var daemon = await StartAsync();
        Assert.Equal("O"u8.ToArray(), await ExchangeAsync(PushMessage(path)));
        var stored = _store.GetBytes("wal_005/" + Segment + ".lz4");
        await File.WriteAllBytesAsync(path, WalSegments.Filled(Segment, 8), Token);

        var reply = await ExchangeAsync(PushMessage(path));
        await daemon.StopAsync(Token);

        Assert.Equal("E"u8.ToArray(), reply);
        Assert.Equal(stored, _store.GetBytes("wal_005/" + Segment + ".lz4"));
    }

    [Fact]
    public async Task Fetch_writes_the_segment_and_answers_O_and_a_missing_one_answers_N()
    {
        var source = WriteSegment(Segment);
        var daemon = await StartAsync();
        Assert.Equal("O"u8.ToArray(), await ExchangeAsync(PushMessage(source)));

        var found = await ExchangeAsync(FetchMessage(Segment, "pg_wal/RECOVERYXLOG"));
        var missing = await ExchangeAsync(FetchMessage("000000010000000000000009", "pg_wal/RECOVERYXLOG2"));
        await daemon.StopAsync(Token);

        Assert.Equal("O"u8.ToArray(), found);
        Assert.Equal(await File.ReadAllBytesAsync(source, Token), await File.ReadAllBytesAsync(Path.Combine(_directory, "pg_wal", "RECOVERYXLOG"), Token));
        Assert.Equal("N"u8.ToArray(), missing);
        Assert.False(File.Exists(Path.Combine(_directory, "pg_wal", "RECOVERYXLOG2")));
    }

    [Fact]
    public async Task Check_keeps_the_connection_for_the_next_request()
    {
        WriteSegment(Segment);
        var daemon = await StartAsync();

        var reply = await ExchangeAsync([0x43, 0x00, 0x03, 0x43, 0x00, 0x03, .. PushMessage(Segment)]);
        await daemon.StopAsync(Token);

        Assert.Equal("OOO"u8.ToArray(), reply);
    }

    [Theory]
    [InlineData(new byte[] { 0x58, 0x00, 0x03 })] // an unknown type
    [InlineData(new byte[] { 0x66, 0x00, 0x06, 0x02, 0x00, 0x05 })] // a fetch whose body is cut short
    [InlineData(new byte[] { 0x66, 0x00, 0x04, 0x01 })] // a fetch with one argument counted and none there
    [InlineData(new byte[] { 0x46, 0x00, 0x03 })] // a push naming no file
    [InlineData(new byte[] { 0x46, 0x00, 0x02 })] // a length shorter than the header
    [InlineData(new byte[] { 0x46, 0x00, 0x09, 0x2E, 0x2E, 0x2F, 0x65, 0x74, 0x63 })] // "../etc": not a WAL file name
    public async Task A_malformed_or_unknown_request_is_answered_E_and_nothing_is_stored(byte[] request)
    {
        var daemon = await StartAsync();

        var reply = await ExchangeAsync(request);
        await daemon.StopAsync(Token);

        Assert.Equal("E"u8.ToArray(), reply);
        Assert.Empty(_store.Keys);
    }

    [Fact]
    public async Task Push_of_a_relative_path_without_a_data_directory_is_answered_E()
    {
        WriteSegment(Segment);
        var options = new WalDaemonOptions { SocketPath = SocketPath };
        using var daemon = new WalDaemon(_services.GetRequiredService<WalReadyUploader>(), _services.GetRequiredService<WalArchiver>(), Options.Create(options));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var running = daemon.RunAsync(stop.Token);
        await WaitUntilListeningAsync();

        var reply = await ExchangeAsync(PushMessage(Segment));
        await stop.CancelAsync();
        await running;

        Assert.Equal("E"u8.ToArray(), reply);
        Assert.Empty(_store.Keys);
        Assert.False(File.Exists(SocketPath), "the socket is removed when the daemon stops");
    }

    [Fact]
    public async Task A_socket_path_that_is_a_regular_file_is_refused_naming_it_and_left_alone()
    {
        await File.WriteAllTextAsync(SocketPath, "not a socket", Token);
        using var daemon = _services.GetRequiredService<WalDaemon>();

        var ex = await Assert.ThrowsAsync<PgArchiveConfigurationException>(() => daemon.RunAsync(Token));

        Assert.Equal($"Daemon socket path '{SocketPath}' exists and is not a socket: remove it or name another path.", ex.Message);
        Assert.Equal("not a socket", await File.ReadAllTextAsync(SocketPath, Token));
    }

    [Fact]
    public async Task A_stale_socket_is_replaced_and_a_live_one_refused()
    {
        // A socket file nobody listens on, as a killed daemon leaves it (.NET removes the files of sockets it closes; Python does not).
        using (var python = System.Diagnostics.Process.Start("python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", SocketPath]))
        {
            await python.WaitForExitAsync(Token);
        }

        Assert.True(DaemonSocket.IsSocket(SocketPath));
        var daemon = await StartAsync();
        using var second = new WalDaemon(_services.GetRequiredService<WalReadyUploader>(), _services.GetRequiredService<WalArchiver>(),
            Options.Create(new WalDaemonOptions { SocketPath = SocketPath }));

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => second.RunAsync(Token));
        var check = await ExchangeAsync([0x43, 0x00, 0x03]);
        await daemon.StopAsync(Token);

        Assert.Equal($"Daemon socket '{SocketPath}' is in use: another daemon answers on it; stop it first or name another path.", ex.Message);
        Assert.Equal("O"u8.ToArray(), check); // the first daemon still serves
        Assert.False(File.Exists(SocketPath));
    }

    [Fact]
    public async Task Stopping_finishes_a_request_in_progress_before_returning()
    {
        WriteSegment(Segment);
        using var daemon = _services.GetRequiredService<WalDaemon>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var running = daemon.RunAsync(stop.Token);
        await WaitUntilListeningAsync();

        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), Token);
        var push = PushMessage(Segment);
        await client.SendAsync(push.AsMemory(0, 2), SocketFlags.None, Token); // half a header: the request is in progress
        await Task.Delay(200, Token);
        await stop.CancelAsync();
        await Task.Delay(300, Token);
        var returnedEarly = running.IsCompleted;
        var removed = !File.Exists(SocketPath);
        await client.SendAsync(push.AsMemory(2), SocketFlags.None, Token);
        var reply = new byte[1];
        var read = await client.ReceiveAsync(reply, SocketFlags.None, Token);
        await running;

        Assert.False(returnedEarly, "the daemon returned with a request in progress");
        Assert.True(removed, "the socket is removed as soon as the daemon stops accepting");
        Assert.Equal(1, read);
        Assert.Equal((byte)'O', reply[0]);
        Assert.Equal(["wal_005/" + Segment + ".lz4"], _store.Keys);
    }

    [Theory]
    [InlineData("000000010000000000000003", "/srv/pg/pg_wal/000000010000000000000003")]
    [InlineData("pg_wal/000000010000000000000003", "/srv/pg/pg_wal/000000010000000000000003")]
    [InlineData("/elsewhere/pg_wal/000000010000000000000003", "/elsewhere/pg_wal/000000010000000000000003")]
    public void ResolvePushPath_takes_a_bare_name_from_pg_wal_and_other_relative_paths_from_the_data_directory(string path, string expected) =>
        Assert.Equal(expected, WalDaemon.ResolvePushPath(path, "/srv/pg"));

    [Fact]
    public void AddWalDaemon_without_a_socket_path_fails_at_start_naming_the_setting()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory().AddWalDaemon();
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(["PgArchive:WalDaemon:SocketPath must name the daemon's Unix domain socket."], ex.Failures);
    }

    [Fact]
    public async Task Requests_beyond_MaxConcurrentRequests_wait_for_a_slot()
    {
        var options = new WalDaemonOptions { SocketPath = SocketPath, DataDirectory = _directory, MaxConcurrentRequests = 1, RequestTimeout = TimeSpan.FromSeconds(10) };
        using var daemon = new WalDaemon(_services.GetRequiredService<WalReadyUploader>(), _services.GetRequiredService<WalArchiver>(), Options.Create(options));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var running = daemon.RunAsync(stop.Token);
        await WaitUntilListeningAsync(); // the probe's connection ends at once and frees the slot
        using var first = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await first.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), Token);
        await first.SendAsync(new byte[] { 0x43 }, SocketFlags.None, Token); // a third of a check: holds the one slot

        var second = ExchangeAsync([0x43, 0x00, 0x03]);
        await Task.Delay(500, Token);
        var servedWhileFull = second.IsCompleted;
        await first.SendAsync(new byte[] { 0x00, 0x03 }, SocketFlags.None, Token);
        var firstReply = new byte[1];
        await first.ReceiveAsync(firstReply, SocketFlags.None, Token);
        first.Shutdown(SocketShutdown.Send);
        var secondReply = await second;
        await stop.CancelAsync();
        await running;

        Assert.False(servedWhileFull, "a second request was served while the only slot was taken");
        Assert.Equal((byte)'O', firstReply[0]);
        Assert.Equal("O"u8.ToArray(), secondReply);
    }
}
