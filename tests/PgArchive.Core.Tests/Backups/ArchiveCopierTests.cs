using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PgArchive.Authentication;
using PgArchive.Retention;
using PgArchive.Storage;
using PgArchive.Support;

namespace PgArchive.Backups;

/// <summary>
/// copy: a backup goes to another store whole (its delta chain, the WAL its restore replays), byte for byte, its
/// sentinel last; a rerun copies nothing; a partition that differs from its recorded checksum is never stored and
/// leaves the backup invisible in the destination.
/// </summary>
public sealed class ArchiveCopierTests : IDisposable
{
    private readonly SyntheticArchive _source = new();
    private readonly PutRecordingStore _destination = new(new InMemoryObjectStore());
    private readonly string _full;
    private readonly string _delta;

    public ArchiveCopierTests()
    {
        _full = _source.AddBackup(1, 2);
        _delta = _source.AddBackup(1, 4, deltaFrom: _full, finishSegmentsLater: 1);
        _source.AddWal(1, 1, 8);
        _source.AddHistory(2, (1, "0/9000000"));
        RecordChecksums(_delta, "tar");
    }

    public void Dispose() => _source.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private ArchiveCopier Copier() => new(_source.Store, _destination);

    /// <summary>Writes files_metadata.json of <paramref name="backup"/> with TarChecksums saying each partition holds <paramref name="content"/>.</summary>
    private void RecordChecksums(string backup, string content)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        var sum = new StoredChecksum(bytes.Length, Convert.ToHexStringLower(XxHash128.Hash(bytes)));
        var files = new FilesMetadata { TarChecksums = new(StringComparer.Ordinal) { ["part_001.tar.lz4"] = sum, ["pg_control.tar.lz4"] = sum } };
        _source.Put(ArchiveLayout.FilesMetadataKey(backup), JsonSerializer.Serialize(files, PgArchiveJsonContext.Default.FilesMetadata));
    }

    [Fact]
    public async Task Copies_a_delta_with_its_base_and_the_wal_of_its_restore_byte_for_byte()
    {
        var result = await Copier().CopyAsync(_delta, withHistory: false, concurrency: 4, Token);

        var expected = _source.Store.Keys.Where(k => k.Contains(_full, StringComparison.Ordinal) || k.Contains(_delta, StringComparison.Ordinal))
            .Concat(SyntheticArchive.Segments(1, 4, 5).Select(s => $"wal_005/{s}.lz4")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([_full, _delta], result.Backups);
        Assert.Equal(expected, _destination.Inner.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected, key => Assert.Equal(_source.Store.GetBytes(key), _destination.Inner.GetBytes(key)));
        Assert.Equal((expected.Count, 0), (result.Copied, result.Skipped));
        Assert.Equal(expected.Sum(k => (long)_source.Store.GetBytes(k).Length), result.BytesCopied);
    }

    [Fact]
    public async Task The_wal_block_maps_of_the_segments_copied_go_with_them_and_no_others()
    {
        foreach (var segment in SyntheticArchive.Segments(1, 3, 7))
        {
            _source.Put(ArchiveLayout.WalBlockMapKey(segment, "lz4"), $"map of {segment}");
        }

        var result = await Copier().CopyAsync(_delta, withHistory: false, concurrency: 4, Token);

        var expected = SyntheticArchive.Segments(1, 4, 5).Select(s => ArchiveLayout.WalBlockMapKey(s, "lz4")).ToList();
        Assert.Equal(expected, _destination.Inner.Keys.Where(k => k.StartsWith(ArchiveLayout.WalBlockMapsPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.All(expected, key => Assert.Equal(_source.Store.GetBytes(key), _destination.Inner.GetBytes(key)));

        var rerun = await Copier().CopyAsync(_delta, withHistory: false, concurrency: 4, Token);
        Assert.Equal((0, result.Copied), (rerun.Copied, rerun.Skipped));
    }

    [Fact]
    public async Task Stores_each_sentinel_after_everything_else_bases_first()
    {
        await Copier().CopyAsync(_delta, withHistory: false, concurrency: 4, Token);

        var puts = _destination.Puts.ToList();
        Assert.Equal([ArchiveLayout.SentinelKey(_full), ArchiveLayout.SentinelKey(_delta)], puts[^2..]);
        Assert.DoesNotContain(puts[..^2], k => k.EndsWith(ArchiveLayout.SentinelSuffix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_history_copies_every_later_segment_of_the_timeline()
    {
        await Copier().CopyAsync("LATEST", withHistory: true, concurrency: 2, Token);

        Assert.Equal(SyntheticArchive.Segments(1, 4, 8).Select(s => $"wal_005/{s}.lz4").Order(StringComparer.Ordinal),
            _destination.Inner.Keys.Where(k => k.StartsWith("wal_005/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_backup_on_a_later_timeline_takes_the_history_files_of_its_timeline_and_before()
    {
        _source.AddHistory(3, (1, "0/9000000"), (2, "0/A000000"));
        var promoted = _source.AddBackup(2, 10);
        _source.AddWal(2, 10, 10);

        await Copier().CopyAsync(promoted, withHistory: false, concurrency: 2, Token);

        Assert.Equal(["wal_005/00000002.history", $"wal_005/{SyntheticArchive.Segment(2, 10)}.lz4"],
            _destination.Inner.Keys.Where(k => k.StartsWith("wal_005/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Without_a_name_copies_every_backup_and_a_second_run_copies_nothing()
    {
        var first = await Copier().CopyAsync(null, withHistory: false, concurrency: 4, Token);
        var putsAfterFirst = _destination.Puts.Count;

        var second = await Copier().CopyAsync(null, withHistory: false, concurrency: 4, Token);

        Assert.Equal([_full, _delta], first.Backups);
        Assert.Contains(SyntheticArchive.Segments(1, 2, 2).Single(), string.Join(",", _destination.Inner.Keys), StringComparison.Ordinal);
        Assert.Equal((0, first.Copied, 0L), (second.Copied, second.Skipped, second.BytesCopied));
        Assert.Equal(putsAfterFirst, _destination.Puts.Count);
    }

    [Fact]
    public async Task A_partition_that_differs_from_its_recorded_checksum_is_named_and_the_backup_stays_invisible()
    {
        RecordChecksums(_delta, "tax");

        var ex = await Assert.ThrowsAsync<ObjectCorruptException>(() => Copier().CopyAsync(_delta, withHistory: false, concurrency: 1, Token));

        Assert.Contains($"basebackups_005/{_delta}/tar_partitions/", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ArchiveLayout.SentinelKey(_delta), _destination.Inner.Keys);
        Assert.DoesNotContain(_destination.Inner.Keys, k => k.StartsWith(ArchiveLayout.TarPartitionsPrefix(_delta), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_destination_object_of_another_size_is_named_and_left_as_it_is()
    {
        var key = $"wal_005/{SyntheticArchive.Segment(1, 4)}.lz4";
        await _destination.Inner.PutAsync(key, new MemoryStream("another segment"u8.ToArray()), PutMode.Overwrite, Token);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => Copier().CopyAsync(_delta, withHistory: false, concurrency: 2, Token));

        Assert.Contains($"'{key}'", ex.Message, StringComparison.Ordinal);
        Assert.Equal("another segment"u8.ToArray(), _destination.Inner.GetBytes(key));
        Assert.DoesNotContain(ArchiveLayout.SentinelKey(_delta), _destination.Inner.Keys);
    }

    [Fact]
    public async Task A_rerun_into_an_authenticated_destination_records_an_object_a_stopped_copy_stored_without_its_record()
    {
        var authenticated = new AuthenticatingObjectStore(_destination, new ArchiveAuthenticationKey(RandomNumberGenerator.GetBytes(32)));
        await new ArchiveCopier(_source.Store, authenticated).CopyAsync(_delta, withHistory: false, concurrency: 2, Token);
        var key = $"wal_005/{SyntheticArchive.Segment(1, 4)}.lz4";
        await _destination.Inner.DeleteAsync([AuthenticatingObjectStore.SidecarKey(key)], Token);

        var rerun = await new ArchiveCopier(_source.Store, authenticated).CopyAsync(_delta, withHistory: false, concurrency: 2, Token);

        Assert.Equal(0, rerun.Copied);
        var stream = await authenticated.OpenReadAsync(key, null, Token);
        await using (stream)
        {
            Assert.Equal("wal", await new StreamReader(stream).ReadToEndAsync(Token));
        }
    }

    [Fact]
    public async Task An_authenticated_source_refuses_a_wal_segment_changed_in_the_store_and_the_copy_stores_nothing_of_it()
    {
        var authenticated = new AuthenticatingObjectStore(new InMemoryObjectStore(), new ArchiveAuthenticationKey(RandomNumberGenerator.GetBytes(32)));
        foreach (var key in _source.Store.Keys)
        {
            await authenticated.PutAsync(key, new MemoryStream(_source.Store.GetBytes(key)), PutMode.CreateNew, Token);
        }

        var changed = $"wal_005/{SyntheticArchive.Segment(1, 5)}.lz4";
        await authenticated.Inner.PutAsync(changed, new MemoryStream("wax"u8.ToArray()), PutMode.Overwrite, Token);

        var ex = await Assert.ThrowsAsync<ObjectNotAuthenticatedException>(() => new ArchiveCopier(authenticated, _destination).CopyAsync(_delta, withHistory: false, concurrency: 1, Token));

        Assert.Contains(changed, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(changed, _destination.Inner.Keys);
        Assert.DoesNotContain(ArchiveLayout.SentinelKey(_delta), _destination.Inner.Keys);
    }

    [Theory]
    [InlineData(5, false)]
    [InlineData(7, true)]
    public async Task A_segment_missing_from_the_source_that_the_copy_needs_is_named_and_nothing_is_copied(ulong missing, bool withHistory)
    {
        var key = $"wal_005/{SyntheticArchive.Segment(1, missing)}.lz4";
        await _source.Store.DeleteAsync([key], Token);

        var ex = await Assert.ThrowsAsync<PgArchiveException>(() => Copier().CopyAsync(_delta, withHistory, concurrency: 2, Token));

        Assert.Contains(SyntheticArchive.Segment(1, missing), ex.Message, StringComparison.Ordinal);
        Assert.Contains(_delta, ex.Message, StringComparison.Ordinal);
        Assert.Empty(_destination.Inner.Keys);
    }

    [Fact]
    public async Task An_unknown_backup_is_refused()
    {
        var ex = await Assert.ThrowsAsync<BackupNotFoundException>(() => Copier().CopyAsync("base_000000010000000000000009", withHistory: false, concurrency: 1, Token));

        Assert.Contains("base_000000010000000000000009", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_destination.Inner.Keys);
    }
}
