using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

public sealed class InMemoryObjectStoreTests : ObjectStoreConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(new InMemoryObjectStore());

    [Fact]
    public async Task Keys_and_bytes_can_be_inspected()
    {
        var store = (InMemoryObjectStore)Store;
        await store.PutAsync("b", new MemoryStream([2]), cancellationToken: Token);
        await store.PutAsync("a", new MemoryStream([1]), cancellationToken: Token);
        Assert.Equal(["a", "b"], store.Keys);
        Assert.Equal([2], store.GetBytes("b"));
    }
}
