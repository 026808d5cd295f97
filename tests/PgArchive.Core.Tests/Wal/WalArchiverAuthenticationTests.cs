using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Wal;

/// <summary>
/// wal-push and wal-fetch with archive authentication on: segments carry records, a forged or renamed segment never
/// reaches PostgreSQL, and a push that died between storing the segment and its record is completed by the retry
/// PostgreSQL makes, but only for the very same content.
/// </summary>
public sealed class WalArchiverAuthenticationTests : IDisposable
{
    private const string Name = "000000010000000000000006";
    private readonly string _pgWal = Directory.CreateTempSubdirectory("pgarchive-wal-auth-").FullName;
    private readonly ServiceProvider _services;
    private readonly InMemoryObjectStore _raw;
    private readonly RecordPutFailingStore _failing;
    private readonly WalArchiver _archiver;

    public WalArchiverAuthenticationTests()
    {
        var services = new ServiceCollection();
        services.AddPgArchive().UseInMemory().UseArchiveAuthentication(o =>
        {
            o.Key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            o.KeyTransform = Encryption.LibsodiumKeyTransform.Hex;
        });
        services.Replace(ServiceDescriptor.Singleton<IObjectStore>(sp => sp.GetRequiredService<RecordPutFailingStore>()));
        services.AddSingleton(sp => new RecordPutFailingStore(sp.GetRequiredService<InMemoryObjectStore>()));
        _services = services.BuildServiceProvider();
        _raw = _services.GetRequiredService<InMemoryObjectStore>();
        _failing = _services.GetRequiredService<RecordPutFailingStore>();
        _archiver = _services.GetRequiredService<WalArchiver>();
    }

    public void Dispose()
    {
        _services.Dispose();
        Directory.Delete(_pgWal, recursive: true);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private string WriteSegment(string name, byte fill)
    {
        var path = Path.Combine(_pgWal, name);
        File.WriteAllBytes(path, WalSegments.Filled(name, fill));
        return path;
    }

    private string Destination => Path.Combine(_pgWal, "RECOVERYXLOG");

    [Fact]
    public async Task Push_stores_a_record_and_fetch_returns_the_segment()
    {
        var source = WriteSegment("000000010000000000000003", 7);

        var pushed = await _archiver.PushAsync(source, Token);
        await _archiver.FetchAsync("000000010000000000000003", Destination, Token);

        Assert.Equal([pushed.Key, AuthenticatingObjectStore.SidecarKey(pushed.Key)], _raw.Keys.Order(StringComparer.Ordinal).Reverse());
        Assert.Equal(await File.ReadAllBytesAsync(source, Token), await File.ReadAllBytesAsync(Destination, Token));
    }

    [Fact]
    public async Task A_push_that_died_before_the_record_is_completed_by_the_retry()
    {
        var source = WriteSegment("000000010000000000000003", 7);
        _failing.FailNextRecordPuts(1);
        await Assert.ThrowsAsync<ObjectStoreException>(() => _archiver.PushAsync(source, Token));
        Assert.Equal(["wal_005/000000010000000000000003.lz4"], _raw.Keys);

        var retried = await _archiver.PushAsync(source, Token);

        Assert.True(retried.AlreadyArchived);
        Assert.Contains(AuthenticatingObjectStore.SidecarKey(retried.Key), _raw.Keys);
        await _archiver.FetchAsync("000000010000000000000003", Destination, Token);
        Assert.Equal(await File.ReadAllBytesAsync(source, Token), await File.ReadAllBytesAsync(Destination, Token));
    }

    [Fact]
    public async Task An_unrecorded_object_of_other_content_is_a_conflict_and_gets_no_record()
    {
        var source = WriteSegment("000000010000000000000003", 7);
        _failing.FailNextRecordPuts(1);
        await Assert.ThrowsAsync<ObjectStoreException>(() => _archiver.PushAsync(source, Token));
        WriteSegment("000000010000000000000003", 8);

        await Assert.ThrowsAsync<WalArchiveConflictException>(() => _archiver.PushAsync(source, Token));

        Assert.Equal(["wal_005/000000010000000000000003.lz4"], _raw.Keys);
        var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => _archiver.FetchAsync("000000010000000000000003", Destination, Token));
        Assert.Equal(AuthenticationFailure.SidecarMissing, ex.Failure);
        Assert.False(File.Exists(Destination));
    }

    [Fact]
    public async Task A_segment_renamed_with_its_record_is_refused_by_fetch()
    {
        var six = await _archiver.PushAsync(WriteSegment("000000010000000000000006", 6), Token);
        var seven = await _archiver.PushAsync(WriteSegment("000000010000000000000007", 6), Token);
        await _raw.PutAsync(six.Key, new MemoryStream(_raw.GetBytes(seven.Key)), cancellationToken: Token);
        await _raw.PutAsync(AuthenticatingObjectStore.SidecarKey(six.Key), new MemoryStream(_raw.GetBytes(AuthenticatingObjectStore.SidecarKey(seven.Key))), cancellationToken: Token);

        var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => _archiver.FetchAsync("000000010000000000000006", Destination, Token));

        Assert.Equal(AuthenticationFailure.MacMismatch, ex.Failure);
        Assert.False(File.Exists(Destination));
    }

    public static TheoryData<string> Methods => ["lz4", "zstd", "brotli", "lzma"];

    [Theory]
    [MemberData(nameof(Methods))]
    public Task Bytes_appended_after_the_compressed_stream_are_refused_by_fetch(string method) =>
        AssertForgeryRefusedAsync(method, WalSegments.Filled(Name, 6), stored => Task.FromResult<byte[]>([.. stored, .. "forged"u8.ToArray()]));

    [Theory]
    [MemberData(nameof(Methods))]
    public Task Another_segment_padded_to_the_recorded_size_is_refused_by_fetch(string method) =>
        AssertForgeryRefusedAsync(method, WalSegments.Create(Name, RandomNumberGenerator.GetBytes), async stored =>
        {
            var forged = await Codecs.CompressAsync(Codecs.Compressor(method), WalSegments.Filled(Name, 9));
            return [.. forged, .. new byte[stored.Length - forged.Length]];
        });

    /// <summary>Stores <paramref name="segment"/> with its record, replaces its stored bytes by <paramref name="forge"/>'s, and expects fetch to refuse them.</summary>
    private async Task AssertForgeryRefusedAsync(string method, byte[] segment, Func<byte[], Task<byte[]>> forge)
    {
        var compressor = Codecs.Compressor(method);
        var key = ArchiveLayout.WalKey(Name, compressor.FileExtension);
        var stored = await Codecs.CompressAsync(compressor, segment);
        await _services.GetRequiredService<AuthenticatingObjectStore>().PutAsync(key, new MemoryStream(stored), cancellationToken: Token);
        await _raw.PutAsync(key, new MemoryStream(await forge(stored)), cancellationToken: Token);

        var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => _archiver.FetchAsync(Name, Destination, Token));

        Assert.Equal(AuthenticationFailure.ContentDiffers, ex.Failure);
        Assert.False(File.Exists(Destination));
    }
}
