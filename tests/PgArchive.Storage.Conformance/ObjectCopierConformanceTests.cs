using PgArchive.Storage;
using Xunit;

namespace PgArchive.Storage.Conformance;

/// <summary>
/// The contract of <see cref="IObjectCopier"/> on top of <see cref="ObjectStoreConformanceTests"/>: the tests of a
/// store that declares the capability inherit this class, so what a store can do is stated by its type and its test
/// class, never found out (and skipped) at run time. A store without it (backup-push --resume then streams copies
/// through) inherits <see cref="ObjectStoreConformanceTests"/> alone.
/// </summary>
public abstract class ObjectCopierConformanceTests : ObjectStoreConformanceTests
{
    /// <summary>The store's copy capability, which its type declares.</summary>
    protected IObjectCopier Copier()
    {
        var copier = Assert.IsAssignableFrom<IObjectCopier>(Store);
        Assert.True(copier.CanCopy, $"{Store.GetType().Name} declares IObjectCopier but cannot copy.");
        return copier;
    }

    [Fact]
    public virtual async Task Copy_stores_the_same_bytes_under_the_new_key_and_keeps_the_source()
    {
        var copier = Copier();
        var data = RandomBytes(300_000);
        await Store.PutAsync("basebackups_005/a/tar_partitions/part_001.tar.lz4", new MemoryStream(data), cancellationToken: Token);

        await copier.CopyAsync("basebackups_005/a/tar_partitions/part_001.tar.lz4", "basebackups_005/b/tar_partitions/part_003.tar.lz4", Token);

        Assert.Equal(data, await ReadAllAsync("basebackups_005/b/tar_partitions/part_003.tar.lz4"));
        Assert.Equal(data, await ReadAllAsync("basebackups_005/a/tar_partitions/part_001.tar.lz4"));
        Assert.Equal(data.Length, (await Store.GetInfoAsync("basebackups_005/b/tar_partitions/part_003.tar.lz4", Token))?.Size);
    }

    [Fact]
    public virtual async Task Copy_replaces_what_the_destination_held()
    {
        var copier = Copier();
        var data = RandomBytes(1_000);
        await Store.PutAsync("wal_005/source", new MemoryStream(data), cancellationToken: Token);
        await Store.PutAsync("wal_005/destination", new MemoryStream(RandomBytes(5_000)), cancellationToken: Token);

        await copier.CopyAsync("wal_005/source", "wal_005/destination", Token);

        Assert.Equal(data, await ReadAllAsync("wal_005/destination"));
    }

    [Fact]
    public virtual async Task Copy_of_a_missing_key_throws_not_found_and_stores_nothing()
    {
        var copier = Copier();

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => copier.CopyAsync("wal_005/missing", "wal_005/copy", Token));

        Assert.Equal(ObjectStoreErrorKind.NotFound, ex.Kind);
        Assert.Null(await Store.GetInfoAsync("wal_005/copy", Token));
    }
}
