using Microsoft.Extensions.DependencyInjection;
using PgArchive.Storage;

namespace PgArchive.Wal;

/// <summary>wal-fetch of a segment that only wal-receive's .partial holds.</summary>
public sealed class PartialSegmentFetchTests : IDisposable
{
    private const string Segment = "000000010000000000000003";
    private readonly string _directory = Directory.CreateTempSubdirectory("pgarchive-partial-").FullName;
    private readonly ServiceProvider _services;
    private readonly InMemoryObjectStore _store;
    private readonly WalArchiver _archiver;

    public PartialSegmentFetchTests()
    {
        var services = new ServiceCollection();
        services.AddPgArchive(o => o.CompressionMethod = "none").UseInMemory();
        _services = services.BuildServiceProvider();
        _store = _services.GetRequiredService<InMemoryObjectStore>();
        _archiver = _services.GetRequiredService<WalArchiver>();
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string Destination => Path.Combine(_directory, "RECOVERYXLOG");

    /// <summary>A segment's first half of WAL, then zeros: what wal-receive stores as .partial.</summary>
    private static byte[] PartialContent()
    {
        var data = Support.WalSegments.Filled(Segment, 9);
        data.AsSpan(data.Length / 2).Clear();
        return data;
    }

    private Task PutAsync(string name, byte[] content) => _store.PutAsync("wal_005/" + name, new MemoryStream(content), PutMode.Overwrite, Token);

    [Fact]
    public async Task Fetch_of_a_segment_not_archived_returns_its_partial()
    {
        var partial = PartialContent();
        await PutAsync(Segment + ".partial", partial);

        var key = await _archiver.FetchAsync(Segment, Destination, Token);

        Assert.Equal("wal_005/" + Segment + ".partial", key);
        Assert.Equal(partial, await File.ReadAllBytesAsync(Destination, Token));
    }

    [Fact]
    public async Task Fetch_prefers_the_complete_segment_over_its_partial()
    {
        await PutAsync(Segment + ".partial", PartialContent());
        var complete = Support.WalSegments.Filled(Segment, 9);
        await PutAsync(Segment, complete);

        await _archiver.FetchAsync(Segment, Destination, Token);

        Assert.Equal(complete, await File.ReadAllBytesAsync(Destination, Token));
    }

    [Fact]
    public async Task Fetch_refuses_the_partial_of_a_timeline_a_later_one_branched_off_before_its_end()
    {
        await PutAsync(Segment + ".partial", PartialContent());
        // Timeline 2 left timeline 1 inside segment 3 (1 MiB segments: segment 3 spans 0/300000 to 0/400000).
        await PutAsync("00000002.history", "1\t0/380000\tno recovery target specified\n"u8.ToArray());

        await Assert.ThrowsAsync<WalFileNotFoundException>(() => _archiver.FetchAsync(Segment, Destination, Token));
        Assert.False(File.Exists(Destination));
    }

    [Fact]
    public async Task Fetch_uses_the_partial_when_a_later_timeline_branched_off_after_it()
    {
        await PutAsync(Segment + ".partial", PartialContent());
        await PutAsync("00000002.history", "1\t0/900000\tno recovery target specified\n"u8.ToArray());

        Assert.Equal("wal_005/" + Segment + ".partial", await _archiver.FetchAsync(Segment, Destination, Token));
    }

    [Fact]
    public async Task Fetch_of_a_partial_by_its_own_name_still_works()
    {
        await PutAsync(Segment + ".partial", PartialContent());

        Assert.Equal("wal_005/" + Segment + ".partial", await _archiver.FetchAsync(Segment + ".partial", Destination, Token));
    }
}
