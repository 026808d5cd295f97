using Microsoft.Extensions.DependencyInjection;
using PgArchive.Storage;

namespace PgArchive.Wal;

/// <summary>
/// wal-push uploading the segments PostgreSQL already marked .ready: they are stored, marked only once stored,
/// and their own archive_command call returns without the store only while the file is unchanged.
/// </summary>
public sealed class WalReadyUploaderTests : IDisposable
{
    private readonly string _pgWal = Directory.CreateTempSubdirectory("pgarchive-ready-").FullName;
    private readonly ServiceProvider _services;
    private readonly InMemoryObjectStore _store;
    private readonly WalReadyUploader _uploader;

    public WalReadyUploaderTests()
    {
        var services = new ServiceCollection();
        services.AddPgArchive(o => o.CompressionMethod = "none").UseInMemory();
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<InMemoryObjectStore>();
        _uploader = _services.GetRequiredService<WalReadyUploader>();
        Directory.CreateDirectory(Path.Combine(_pgWal, "archive_status"));
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_pgWal, recursive: true);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static string Segment(int n) => $"0000000100000000000000{n:X2}";

    private string WriteReady(string name, byte fill)
    {
        var path = Path.Combine(_pgWal, name);
        var data = new byte[64 << 10];
        Array.Fill(data, fill);
        File.WriteAllBytes(path, data);
        File.WriteAllBytes(Path.Combine(_pgWal, "archive_status", name + ".ready"), []);
        return path;
    }

    private string Marker(string name) => Path.Combine(_pgWal, "walg_data", "walg_archive_status", name);

    private async Task<bool> StoredAsync(string name) => await _store.GetInfoAsync(ArchiveLayout.WalKey(name, ""), Token) is not null;

    [Fact]
    public async Task Ready_segments_are_stored_and_marked_and_their_own_call_needs_no_store()
    {
        var paths = Enumerable.Range(1, 6).Select(n => WriteReady(Segment(n), (byte)n)).ToList();

        var first = await _uploader.PushAsync(paths[0], concurrency: 4, cancellationToken: Token);

        Assert.False(first.AlreadyArchived);
        Assert.False(File.Exists(Marker(Segment(1))));
        for (var n = 1; n <= 6; n++)
        {
            Assert.True(await StoredAsync(Segment(n)), Segment(n));
        }

        for (var n = 2; n <= 6; n++)
        {
            Assert.True(File.Exists(Marker(Segment(n))), Segment(n));
        }

        var operations = _store.OperationCount;
        var second = await _uploader.PushAsync(paths[1], concurrency: 4, cancellationToken: Token);
        Assert.True(second.AlreadyArchived);
        Assert.Equal(operations, _store.OperationCount);
        Assert.False(File.Exists(Marker(Segment(2))), "a marker is consumed when used");
    }

    [Fact]
    public async Task A_file_changed_after_it_was_marked_is_pushed_normally_and_its_conflict_reported()
    {
        var first = WriteReady(Segment(1), 1);
        var second = WriteReady(Segment(2), 2);
        await _uploader.PushAsync(first, concurrency: 2, cancellationToken: Token);
        Assert.True(File.Exists(Marker(Segment(2))));

        // A changed file (e.g. a restored directory carrying an old marker) must not pass on the marker.
        File.WriteAllBytes(second, Enumerable.Repeat((byte)9, 64 << 10).ToArray());
        Assert.False(WalUploadMarkers.TryConsume(second));
        Assert.False(File.Exists(Marker(Segment(2))));
        await Assert.ThrowsAsync<WalArchiveConflictException>(() => _uploader.PushAsync(second, concurrency: 2, cancellationToken: Token));
    }

    [Fact]
    public async Task A_marker_without_the_object_is_never_written_when_the_store_fails()
    {
        var first = WriteReady(Segment(1), 1);
        WriteReady(Segment(2), 2);
        Directory.CreateDirectory(Path.GetDirectoryName(Marker("x"))!);

        // The ready segment's upload fails (the store already holds different content under its name): no marker.
        await _store.PutAsync(ArchiveLayout.WalKey(Segment(2), ""), new MemoryStream([1, 2, 3]), cancellationToken: Token);
        var result = await _uploader.PushAsync(first, concurrency: 2, cancellationToken: Token);

        Assert.False(result.AlreadyArchived);
        Assert.False(File.Exists(Marker(Segment(2))));
    }

    [Fact]
    public async Task Concurrency_one_pushes_only_the_requested_file()
    {
        var first = WriteReady(Segment(1), 1);
        WriteReady(Segment(2), 2);
        await _uploader.PushAsync(first, concurrency: 1, cancellationToken: Token);
        Assert.True(await StoredAsync(Segment(1)));
        Assert.False(await StoredAsync(Segment(2)));
    }

    [Fact]
    public void Partial_and_history_files_never_pass_on_a_marker()
    {
        var partial = Path.Combine(_pgWal, Segment(3) + ".partial");
        File.WriteAllBytes(partial, [1]);
        Directory.CreateDirectory(Path.GetDirectoryName(Marker("x"))!);
        File.WriteAllText(Marker(Segment(3) + ".partial"), WalUploadMarkers.Describe(partial));
        Assert.False(WalUploadMarkers.TryConsume(partial));
    }

    [Fact]
    public async Task A_marker_written_for_one_archive_never_passes_for_another()
    {
        var first = WriteReady(Segment(1), 1);
        var second = WriteReady(Segment(2), 2);
        await _uploader.PushAsync(first, concurrency: 2, scope: "archive:a", cancellationToken: Token);
        Assert.True(File.Exists(Marker(Segment(2))));

        Assert.False(WalUploadMarkers.TryConsume(second, "archive:b"));
        Assert.False(File.Exists(Marker(Segment(2))));

        WriteReady(Segment(3), 3);
        await _uploader.PushAsync(second, concurrency: 2, scope: "archive:a", cancellationToken: Token);
        Assert.True(WalUploadMarkers.TryConsume(Path.Combine(_pgWal, Segment(3)), "archive:a"));
    }
}
