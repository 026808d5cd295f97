namespace PgArchive.Storage;

public sealed class StreamingUploadTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Written_bytes_are_stored_and_counted()
    {
        var store = new InMemoryObjectStore();
        var stored = await StreamingUpload.PutAsync(store, "k", PutMode.Overwrite,
            async (sink, ct) => await sink.WriteAsync(new byte[20_000_000], ct), Token);
        Assert.Equal(20_000_000, stored);
        Assert.Equal(20_000_000, store.GetBytes("k").Length);
    }

    [Fact]
    public async Task A_failing_writer_stores_nothing_and_its_error_surfaces()
    {
        var store = new InMemoryObjectStore();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => StreamingUpload.PutAsync(store, "k", PutMode.Overwrite,
            async (sink, ct) =>
            {
                await sink.WriteAsync(new byte[10_000_000], ct);
                throw new InvalidOperationException("source broke");
            }, Token));
        Assert.Equal("source broke", ex.Message);
        Assert.Empty(store.Keys);
    }

    [Fact]
    public async Task A_failing_store_surfaces_its_error_and_stops_the_writer()
    {
        var store = new InMemoryObjectStore();
        await store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token);
        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => StreamingUpload.PutAsync(store, "k", PutMode.CreateNew,
            async (sink, ct) => await sink.WriteAsync(new byte[1000], ct), Token));
        Assert.Equal(ObjectStoreErrorKind.AlreadyExists, ex.Kind);
    }
}
