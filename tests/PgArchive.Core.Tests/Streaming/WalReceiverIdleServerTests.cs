using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgArchive.EndToEnd;
using PgArchive.Storage;

namespace PgArchive.Streaming;

/// <summary>wal-receive against a real PostgreSQL 15 that has nothing to send: the stream must stay up.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WalReceiverIdleServerTests : IAsyncLifetime
{
    private readonly ArchiveWorkspace _workspace = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _workspace.DisposeAsync();

    [Fact]
    public async Task An_idle_server_is_asked_for_a_reply_before_the_receive_timeout_so_the_stream_is_not_taken_as_lost()
    {
        // A walsender whose standby reports every second sends nothing of its own while no WAL is written; with a 3 s
        // receive timeout, 9 s of silence drop the connection unless the receiver asks the server to answer.
        await using var cluster = await PostgresCluster.StartAsync(_workspace.PathFor("pg"), "true", new Dictionary<string, string?>());
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory();
        await using var provider = services.BuildServiceProvider();
        var receiver = new WalReceiver(provider.GetRequiredService<IObjectStore>(), provider.GetRequiredService<ObjectCodec>(), Options.Create(new WalReceiverOptions
        {
            ConnectionString = $"Host=127.0.0.1;Port={cluster.Port};Username=postgres",
            CreateSlot = true,
            StatusInterval = TimeSpan.FromSeconds(1),
            ReceiveTimeout = TimeSpan.FromSeconds(3),
            ReconnectDelay = TimeSpan.FromMinutes(5), // a dropped connection stays dropped until the test ends
        }));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        var running = receiver.RunAsync(stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(9), TestContext.Current.CancellationToken);
        var status = receiver.Status;
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);

        Assert.True(status.IsStreaming && status.LastError is null, $"the stream of an idle server was dropped: {status.LastError ?? "not streaming"}");
    }
}
