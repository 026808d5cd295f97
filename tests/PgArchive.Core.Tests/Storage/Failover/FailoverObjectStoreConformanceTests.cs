using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>The store contract through <see cref="FailoverObjectStore"/> with policy all, over two in-memory stores.</summary>
public sealed class FailoverAllObjectStoreTests : ObjectStoreConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync() =>
        Task.FromResult<IObjectStore>(new FailoverObjectStore([new FailoverStore("default", new InMemoryObjectStore()), new FailoverStore("second", new InMemoryObjectStore())],
            new FailoverStoresOptions { Policy = FailoverWritePolicy.All, CacheFile = null }));
}

/// <summary>The store contract through <see cref="FailoverObjectStore"/> with policy first-alive, over two in-memory stores.</summary>
public sealed class FailoverFirstAliveObjectStoreTests : ObjectStoreConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync() =>
        Task.FromResult<IObjectStore>(new FailoverObjectStore([new FailoverStore("default", new InMemoryObjectStore()), new FailoverStore("second", new InMemoryObjectStore())],
            new FailoverStoresOptions { Policy = FailoverWritePolicy.FirstAlive, CacheFile = null, CheckSize = 16 }));
}
