using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

public sealed class InMemoryObjectStoreTests : ObjectCopierConformanceTests
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

    [Fact]
    public async Task Fail_next_makes_that_many_operations_throw_transient_errors_then_recovers()
    {
        var store = (InMemoryObjectStore)Store;
        store.FailNext(2);

        var first = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token));
        var second = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("k", Token));
        await store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token);

        Assert.True(first.IsTransient);
        Assert.Equal(ObjectStoreErrorKind.Unavailable, second.Kind);
        Assert.Equal(["k"], store.Keys);
    }

    [Fact]
    public async Task Fail_next_can_throw_what_the_test_chooses()
    {
        var store = (InMemoryObjectStore)Store;
        store.FailNext(1, (operation, key) => new ObjectStoreException(ObjectStoreErrorKind.AccessDenied, key, $"{operation} denied"));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("secret", null, Token));

        Assert.Equal("read denied", ex.Message);
        Assert.Equal(ObjectStoreErrorKind.AccessDenied, ex.Kind);
    }

    [Fact]
    public async Task Latency_delays_operations_on_the_given_clock()
    {
        var time = new ManualTime();
        var store = new InMemoryObjectStore(time) { Latency = TimeSpan.FromSeconds(30) };

        var put = store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token);
        await Task.Delay(50, Token);
        Assert.False(put.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(30));
        await put;

        Assert.Equal(1, store.OperationCount);
    }

    /// <summary>A clock the test moves by hand (timers fire when it passes their due time).</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly List<(DateTimeOffset Due, TimerCallback Callback, object? State)> _timers = [];
        private DateTimeOffset _now = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by)
        {
            _now += by;
            List<(DateTimeOffset Due, TimerCallback Callback, object? State)> due;
            lock (_timers)
            {
                due = _timers.Where(t => t.Due <= _now).ToList();
                _timers.RemoveAll(t => t.Due <= _now);
            }

            due.ForEach(t => t.Callback(t.State));
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (_timers)
            {
                _timers.Add((_now + dueTime, callback, state));
            }

            return new NoopTimer();
        }

        private sealed class NoopTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
